// What jsdom lacks and the code under test uses: Lumino's drag and drop needs DragEvent at
// import time; live views report their visibility with an IntersectionObserver; uPlot reads the
// pixel ratio through matchMedia when it loads.
const scope = globalThis as any;
scope.DragEvent ??= class DragEvent extends MouseEvent {};
scope.IntersectionObserver ??= class IntersectionObserver {
  observe(): void {}
  disconnect(): void {}
};
scope.matchMedia ??= () => ({
  matches: false,
  addListener(): void {},
  removeListener(): void {},
  addEventListener(): void {},
  removeEventListener(): void {}
});

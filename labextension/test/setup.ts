// What jsdom lacks and the code under test uses: Lumino's drag and drop needs DragEvent at
// import time; live views report their visibility with an IntersectionObserver.
const scope = globalThis as any;
scope.DragEvent ??= class DragEvent extends MouseEvent {};
scope.IntersectionObserver ??= class IntersectionObserver {
  observe(): void {}
  disconnect(): void {}
};

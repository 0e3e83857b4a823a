"""The query language: everyday questions about an indexed codebase, compiled to parameterised SQL.

    functions where complexity > 10 and module like 'json%' order by complexity desc limit 20 offset 20
    classes where name = 'Engine'          modules order by complexity_max desc limit 5
    callers of json.dumps                  callees of pkg.mod.func
    references to json.JSONDecoder         definition of json.JSONDecoder
    path from pkg.main to pkg.db.save      importers of asyncio
    classes deriving from unittest.TestCase (direct)     subclasses of Exception (all below it)
    unused functions in pkg                unused classes in pkg        import cycles        errors

Names go through imports and re-exports (``json.JSONDecoder`` is ``json.decoder.JSONDecoder``); a
bare name (``TestCase``) means every class so named, a builtin's (``Exception``) included.

User text never becomes SQL: names and values are parameters, fields come from a fixed list.
A bad query raises :class:`QueryError` pointing at the offending word and saying what would fit.
The query service runs the SQL and answers with a :class:`~scope_ext.QueryResult`.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, NamedTuple

from ..runtime._exceptions import ScopeError

FIELDS: dict[str, dict[str, str]] = {
    "functions": {
        "fullname": "f.fullname",
        "name": "f.name",
        "module": "m.name",
        "class": "f.class",
        "complexity": "f.complexity",
        "lines": "(f.end_lineno - f.lineno + 1)",
        "line": "f.lineno",
        "is_async": "f.is_async",
        "path": "m.path",
        "doc": "f.doc",
    },
    "classes": {
        "fullname": "c.fullname",
        "name": "c.name",
        "module": "m.name",
        "line": "c.lineno",
        "lines": "(c.end_lineno - c.lineno + 1)",
        "path": "m.path",
        "doc": "c.doc",
    },
    "modules": {
        "name": "m.name",
        "path": "m.path",
        "lines": "m.lines",
        "size": "m.size",
        "functions": "(SELECT count(*) FROM functions f WHERE f.module_id = m.id)",
        "complexity_mean": "(SELECT round(avg(f.complexity), 2) FROM functions f WHERE f.module_id = m.id)",
        "complexity_max": "(SELECT max(f.complexity) FROM functions f WHERE f.module_id = m.id)",
    },
}
SHOWN = {
    "functions": ("fullname", "complexity", "lines", "path", "line"),
    "classes": ("fullname", "lines", "path", "line"),
    "modules": ("name", "lines", "functions", "complexity_mean", "complexity_max", "path"),
}
FROM = {
    "functions": "functions f JOIN modules m ON m.id = f.module_id",
    "classes": "classes c JOIN modules m ON m.id = c.module_id",
    "modules": "modules m",
}
OPERATORS = {"=": "=", "==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "like": "LIKE"}
QUESTIONS = (
    "functions",
    "classes",
    "modules",
    "callers of",
    "callees of",
    "references to",
    "definition of",
    "path from",
    "importers of",
    "classes deriving from",
    "subclasses of",
    "unused functions",
    "unused classes",
    "import cycles",
    "errors",
)

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")|(?P<op><=|>=|!=|==|[<>=])|"
    r"(?P<number>-?\d+(?:\.\d+)?)\b|(?P<word>[A-Za-z_][\w.*]*))"
)


class QueryError(ScopeError):
    """A query that does not parse: ``position`` and ``word`` say where, the message what would fit."""

    def __init__(self, message: str, query: str, position: int, word: str) -> None:
        pointer = f"\n  {query}\n  {' ' * position}^"
        super().__init__(message + pointer)
        self.position = position
        self.word = word


class Token(NamedTuple):
    kind: str  # word, string, number, op
    text: str
    value: Any
    position: int


def tokenize(query: str) -> list[Token]:
    """Words, quoted strings, numbers and comparison operators, with their positions."""
    tokens: list[Token] = []
    position = 0
    while position < len(query):
        if query[position:].strip() == "":
            break
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            start = len(query) - len(query[position:].lstrip())
            raise QueryError(f"cannot read {query[start : start + 10]!r}", query, start, query[start : start + 10])
        kind = match.lastgroup or "word"
        text = match.group(kind)
        start = match.start(kind)
        value: Any = text
        if kind == "string":
            value = text[1:-1].replace(text[0] * 2, text[0])
        elif kind == "number":
            value = _number(query, text, start)
        tokens.append(Token(kind, text, value, start))
        position = match.end()
    return tokens


#: The largest number a query may hold: SQLite's integers are 64-bit.
MAX_NUMBER = 2**63 - 1
#: Conditions one ``where`` may join with ``and`` (SQLite caps an expression's depth).
MAX_CONDITIONS = 100


def _number(query: str, text: str, start: int) -> int | float:
    """A number token's value: an int or a finite float that SQLite can hold."""
    digits = text.lstrip("-").split(".")[0]
    if len(digits) > 19 or abs(value := float(text) if "." in text else int(text)) > MAX_NUMBER:
        raise QueryError(f"the number {text[:20]!r}{'...' if len(text) > 20 else ''} is too large", query, start, text)
    return value


class Compiled(NamedTuple):
    """SQL and its parameters, or a question answered by analysis (``kind`` names it)."""

    kind: str  # "sql", or what the analysis service answers: "unused", "cycles", "path"
    sql: str
    params: tuple[Any, ...]
    columns: tuple[str, ...]


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.at = 0

    def fail(self, message: str, token: Token | None = None) -> QueryError:
        token = token or (self.tokens[self.at] if self.at < len(self.tokens) else None)
        if token is None:
            return QueryError(message, self.query, len(self.query), "")
        return QueryError(message, self.query, token.position, token.text)

    def peek_words(self, count: int) -> list[str]:
        return [t.text.lower() for t in self.tokens[self.at : self.at + count] if t.kind == "word"]

    def expect_word(self, *choices: str) -> str:
        token = self.next(" or ".join(map(repr, choices)))
        word = token.text.lower()
        if token.kind != "word" or word not in choices:
            raise self.fail(f"expected {' or '.join(map(repr, choices))}, not {token.text!r}", token)
        return word

    def next(self, wanted: str) -> Token:
        if self.at >= len(self.tokens):
            raise self.fail(f"the query ends where {wanted} should follow")
        token = self.tokens[self.at]
        self.at += 1
        return token

    def name(self, what: str) -> str:
        token = self.next(what)
        if token.kind not in ("word", "string"):
            raise self.fail(f"expected {what}, not {token.text!r}", token)
        return str(token.value)

    def done(self) -> None:
        if self.at < len(self.tokens):
            raise self.fail(f"unexpected {self.tokens[self.at].text!r} after a complete query")

    def compile(self) -> Compiled:
        if not self.tokens:
            raise self.fail("an empty query; ask one of: " + "; ".join(QUESTIONS))
        first = self.tokens[0].text.lower() if self.tokens[0].kind == "word" else ""
        self.at = 1
        if first in ("callers", "callees", "importers", "subclasses", "definition"):
            self.expect_word("of")
            target = self.name("a dotted name")
            self.done()
            return _relation(first, target)
        if first == "references":
            self.expect_word("to")
            target = self.name("a dotted name")
            self.done()
            return _relation(first, target)
        if first == "path":
            self.expect_word("from")
            start = self.name("a function's dotted name")
            self.expect_word("to")
            goal = self.name("a function's dotted name")
            self.done()
            return Compiled("path", "", (start, goal), ("step", "caller", "callee", "line"))
        if first == "classes" and self.peek_words(1) == ["deriving"]:
            self.at += 1
            self.expect_word("from")
            base = self.name("a base class name")
            self.done()
            return _relation("deriving", base)
        if first == "unused":
            what = self.expect_word("functions", "classes")
            prefix = ""
            if self.at < len(self.tokens):
                self.expect_word("in")
                prefix = self.name("a module or package name")
            self.done()
            return Compiled(f"unused {what}", "", (prefix,), ("fullname", "path", "line"))
        if first == "import":
            self.expect_word("cycles")
            self.done()
            return Compiled("cycles", "", (), ("cycle", "modules"))
        if first == "errors":
            self.done()
            return Compiled(
                "sql",
                "SELECT path, module, line, message FROM errors ORDER BY path",
                (),
                ("path", "module", "line", "message"),
            )
        if first in FIELDS:
            return self.listing(first)
        token = self.tokens[0]
        close = difflib.get_close_matches(token.text.lower(), [q.split()[0] for q in QUESTIONS], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise self.fail(f"unknown question {token.text!r}; {hint}ask one of: " + "; ".join(QUESTIONS), token)

    def field(self, entity: str) -> tuple[str, str]:
        token = self.next(f"a field of {entity}")
        name = token.text.lower()
        if token.kind != "word" or name not in FIELDS[entity]:
            close = difflib.get_close_matches(name, FIELDS[entity], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.fail(
                f"unknown field {token.text!r} for {entity}; {hint}fields: {', '.join(FIELDS[entity])}", token
            )
        return name, FIELDS[entity][name]

    def listing(self, entity: str) -> Compiled:
        conditions: list[str] = []
        params: list[Any] = []
        order = ""
        limit = ""
        sorted_by = ""
        if self.peek_words(1) == ["where"]:
            self.at += 1
            while True:
                _, column = self.field(entity)
                sorted_by = sorted_by or column
                op_token = self.next("a comparison (=, !=, <, <=, >, >=, like)")
                op = op_token.text.lower()
                if op not in OPERATORS:
                    raise self.fail(
                        f"expected a comparison (=, !=, <, <=, >, >=, like), not {op_token.text!r}", op_token
                    )
                value = self.next("a value")
                if value.kind == "op":
                    raise self.fail(f"expected a value, not {value.text!r}", value)
                conditions.append(f"{column} {OPERATORS[op]} ?")
                params.append(value.value)
                if self.peek_words(1) != ["and"]:
                    break
                if len(conditions) == MAX_CONDITIONS:
                    raise self.fail(
                        f"at most {MAX_CONDITIONS} conditions can be joined with 'and'", self.tokens[self.at]
                    )
                self.at += 1
        if self.peek_words(2) == ["order", "by"]:
            self.at += 2
            _, column = self.field(entity)
            direction = "ASC"
            if self.peek_words(1) in (["asc"], ["desc"]):
                direction = self.expect_word("asc", "desc").upper()
            # ties in that field come out in the first column's order: the same rows every time,
            # however the index numbered them (a limit cuts the same ones)
            order = f" ORDER BY {column} {direction}, {FIELDS[entity][SHOWN[entity][0]]}"
        for word in ("limit", "offset"):
            if self.peek_words(1) == [word]:
                self.at += 1
                token = self.next("a number")
                if token.kind != "number" or not isinstance(token.value, int) or token.value < 0:
                    raise self.fail(f"{word} takes a whole number, not {token.text!r}", token)
                limit += f" {word.upper()} ?" if limit or word == "limit" else " LIMIT -1 OFFSET ?"
                params.append(token.value)
        self.done()
        shown = SHOWN[entity]
        select = ", ".join(f"{FIELDS[entity][name]} AS {name}" for name in shown)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        if not order:  # by the first condition's field (an index serves both), then the first column
            first = f"{sorted_by}, " if sorted_by else ""
            order = f" ORDER BY {first}{FIELDS[entity][shown[0]]}"
        return Compiled("sql", f"SELECT {select} FROM {FROM[entity]}{where}{order}{limit}", tuple(params), shown)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: What a name in a question means (``target``): itself, what a module global of that name
#: re-exports, and for a bare name (:data:`_BARE`) every class and function so named and the builtin.
_TARGET = "target(name) AS (SELECT ?1 UNION SELECT n.target FROM names n WHERE n.name = ?1{bare})"
_BARE = (
    " UNION SELECT c.fullname FROM classes c WHERE c.name = ?1"
    " UNION SELECT f.fullname FROM functions f WHERE f.name = ?1 UNION SELECT 'builtins.' || ?1"
)
#: A class's row for each name found (CROSS JOIN: from the names found to the classes, never a
#: scan of every class probing the names).
_CLASS_ROWS = "CROSS JOIN classes c ON c.fullname = {0} JOIN modules m ON m.id = c.module_id"


def _named(kind: str, target: str) -> Compiled | None:
    """The questions about what a name means, through imports and re-exports."""
    params = (target,)
    cte = _TARGET.format(bare="" if "." in target else _BARE)  # one text per kind of name: each plan its indexes
    if kind == "deriving":  # resolved bases; a class resolution has not seen yet: bases as written
        return Compiled(
            "sql",
            f"WITH {cte} SELECT DISTINCT c.fullname, m.path, c.lineno AS line FROM inherits i "
            f"{_CLASS_ROWS.format('i.class')} WHERE i.base IN target UNION ALL "  # the rest: none in inherits
            "SELECT c.fullname, m.path, c.lineno FROM classes c JOIN class_bases b ON b.class_id = c.id "
            "JOIN modules m ON m.id = c.module_id WHERE b.base = ?1 "
            "AND NOT EXISTS (SELECT 1 FROM inherits i WHERE i.class = c.fullname) ORDER BY 1",
            params,
            ("fullname", "path", "line"),
        )
    if kind == "subclasses":
        return Compiled(
            "sql",
            f"WITH RECURSIVE {cte}, below(name) AS (SELECT i.class FROM inherits i WHERE i.base IN target "
            "UNION SELECT i.class FROM inherits i JOIN below b ON i.base = b.name) "
            f"SELECT c.fullname, m.path, c.lineno AS line FROM below {_CLASS_ROWS.format('below.name')} ORDER BY 1",
            params,
            ("fullname", "path", "line"),
        )
    if kind == "definition":
        return Compiled(
            "sql",
            f"WITH {cte} SELECT 'function' AS kind, f.fullname, m.path, f.lineno AS line FROM functions f "
            "JOIN modules m ON m.id = f.module_id WHERE f.fullname IN target "
            f"UNION ALL SELECT 'class', c.fullname, m.path, c.lineno FROM classes c "
            "JOIN modules m ON m.id = c.module_id WHERE c.fullname IN target "
            "UNION ALL SELECT 'module', m.name, m.path, 1 FROM modules m WHERE m.name IN target ORDER BY 2, 3",
            params,
            ("kind", "fullname", "path", "line"),
        )
    if kind == "references":  # calls (with their lines), values read, bases, imports
        return Compiled(
            "sql",
            f"WITH {cte} SELECT referrer, how, path, line FROM ("
            "SELECT e.caller AS referrer, 'call' AS how, m.path, e.lineno AS line FROM edges e "
            "JOIN modules m ON m.id = e.module_id WHERE e.target IN target "
            "UNION SELECT r.scope, 'value', m.path, NULL FROM refs r JOIN modules m ON m.id = r.module_id "
            "WHERE r.target IN target AND NOT EXISTS "
            "(SELECT 1 FROM edges e WHERE e.caller = r.scope AND e.target = r.target) "
            "UNION SELECT i.class, 'base', m.path, NULL FROM inherits i JOIN modules m ON m.id = i.module_id "
            "WHERE i.base IN target "
            "UNION SELECT m.name, 'import', m.path, NULL FROM names n JOIN modules m ON m.id = n.module_id "
            "WHERE n.target IN target) ORDER BY path, line, referrer, how",
            params,
            ("referrer", "how", "path", "line"),
        )
    return None


def _relation(kind: str, target: str) -> Compiled:
    named = _named(kind, target)
    if named is not None:
        return named
    if kind == "callers":  # resolved calls, and calls as written where they name it
        return Compiled(
            "sql",
            "SELECT DISTINCT caller, callee, path, line FROM ("
            "SELECT e.caller, coalesce(e.callee, '(property read)') AS callee, m.path, e.lineno AS line "
            "FROM edges e JOIN modules m ON m.id = e.module_id WHERE e.target = ?1 "
            "UNION ALL SELECT c.caller, c.callee, m.path, c.lineno FROM calls c "
            "JOIN modules m ON m.id = c.module_id WHERE coalesce(c.target, c.callee) = ?1) "
            "ORDER BY path, line, caller, callee",
            (target,),
            ("caller", "callee", "path", "line"),
        )
    if kind == "callees":  # the function's calls: each resolved target, else the call as written
        return Compiled(
            "sql",
            "SELECT callee, target, line FROM ("
            "SELECT coalesce(e.callee, '(property read)') AS callee, e.target, e.lineno AS line FROM edges e "
            "WHERE e.caller = ?1 AND e.module_id IN (SELECT module_id FROM functions WHERE fullname = ?1 "
            "UNION SELECT module_id FROM classes WHERE fullname = ?1) "
            "UNION SELECT c.callee, c.target, c.lineno FROM calls c WHERE c.caller = ?1 AND "
            "c.module_id IN (SELECT module_id FROM functions WHERE fullname = ?1 "
            "UNION SELECT module_id FROM classes WHERE fullname = ?1) AND NOT EXISTS (SELECT 1 FROM edges e "
            "WHERE e.caller = c.caller AND e.module_id = c.module_id AND e.lineno = c.lineno AND e.callee = c.callee)"
            ") ORDER BY line, callee, target",
            (target,),
            ("callee", "target", "line"),
        )
    return Compiled(
        "sql",
        "SELECT DISTINCT m.name AS importer, m.path, i.lineno AS line FROM imports i "
        "JOIN modules m ON m.id = i.module_id WHERE i.resolved = ? OR i.resolved LIKE ? ESCAPE '\\' "
        "ORDER BY m.name",
        (target, _escape(target) + ".%"),
        ("importer", "path", "line"),
    )


def compile_query(query: str) -> Compiled:
    """Compile one query (see the module docstring); raises :class:`QueryError`."""
    return _Parser(query).compile()

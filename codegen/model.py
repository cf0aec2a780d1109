"""
The validated protocol model built from spec/*.yaml.

Everything the generator emits, and the reference state machine the tests
build, comes from :func:`load_spec`. Validation errors are SpecError with the
file and line of the offending entry and what was expected there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .loader import Located, Map, SpecError, load_yaml, opt, req

SPEC_FILES = ("opcodes.yaml", "close_codes.yaml", "framing.yaml", "connection.yaml", "handshake.yaml",
              "permessage_deflate.yaml")
STAY = "stay"  # `to: stay` in a transition: the state does not change
RECEIVE_ACTIONS = ("parse", "ignore", "error")
# permessage-deflate parameters: what they constrain and whether they carry a value.
PMD_KINDS = ("no_context_takeover", "max_window_bits")
PMD_VALUE_RULES = ("none", "optional", "required")
DIRECTIONS = ("send", "receive")


@dataclass(frozen=True)
class Entry:
    """A named constant with documentation: an opcode, a close code, a state, ..."""

    name: str
    value: object
    doc: str
    rfc: str
    extra: dict = field(default_factory=dict, compare=False)

    def __getattr__(self, key: str):
        try:
            return self.__dict__["extra"][key]
        except KeyError:
            raise AttributeError(key) from None


@dataclass(frozen=True)
class Input:
    name: str
    direction: str
    event: str  # how diagrams and comments name what the input carries
    doc: str
    rfc: str
    error: bool = False
    side: str | None = None
    #: connection.yaml: the wsspec.events classes, received opcodes and close codes (names) of the input.
    events: tuple[str, ...] = ()
    opcodes: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()

    @property
    def const(self) -> str:
        return self.name.upper()


@dataclass(frozen=True)
class Transition:
    source: str
    input: str
    target: str
    side: str | None
    line: int


@dataclass(frozen=True)
class FragmentRule:
    """A row of the fragmentation table (RFC 6455 §5.4): a data frame of ``opcode`` arriving with a
    message open or not, and with ``fin`` (None: either), leaves one open (True), closed (False),
    or fails the connection (None) with ``reason``."""

    message_open: bool
    opcode: str
    fin: bool | None
    open_after: bool | None
    reason: str


@dataclass
class OpcodesSpec:
    """spec/opcodes.yaml: the opcodes, the reserved ranges, the fragmentation table (RFC 6455 §5.2, §5.4)."""

    control_bit: int = 0
    entries: list[Entry] = field(default_factory=list)
    reserved: list[Entry] = field(default_factory=list)
    fragmentation: list[FragmentRule] = field(default_factory=list)


@dataclass
class CloseCodesSpec:
    """spec/close_codes.yaml: registered close codes and the ranges of the code space (RFC 6455 §7.4)."""

    entries: list[Entry] = field(default_factory=list)
    ranges: list[Entry] = field(default_factory=list)


@dataclass
class FramingSpec:
    """spec/framing.yaml: header bits, RSV bits, payload length forms, limits (RFC 6455 §5.2)."""

    header_fields: list[Entry] = field(default_factory=list)
    rsv_bits: list[Entry] = field(default_factory=list)
    length_forms: list[Entry] = field(default_factory=list)
    limits: list[Entry] = field(default_factory=list)


@dataclass
class ConnectionSpec:
    """spec/connection.yaml: states, connection types, inputs, what received bytes do, transitions."""

    initial_state: str = ""
    states: list[Entry] = field(default_factory=list)
    types: list[Entry] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    receive_bytes: dict[str, str] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)

    @property
    def state_names(self) -> list[str]:
        return [s.name for s in self.states]


@dataclass
class HandshakeSpec:
    """spec/handshake.yaml: constants, header names, inputs and transitions per side (RFC 6455 §4)."""

    constants: dict[str, object] = field(default_factory=dict)
    headers: list[Entry] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)


@dataclass
class PermessageDeflateSpec:
    """spec/permessage_deflate.yaml: RFC 7692's name, window bits, tail and parameters."""

    name: Entry | None = None
    window: Entry | None = None
    tail: Entry | None = None
    parameters: list[Entry] = field(default_factory=list)
    #: wsspec's tuning defaults (not protocol constants), each an int >= 0.
    defaults: list[Entry] = field(default_factory=list)


@dataclass
class Spec:
    """The whole protocol, as data: one part per spec file."""

    root: Path
    sources: dict[str, str]
    opcodes: OpcodesSpec = field(default_factory=OpcodesSpec)
    close_codes: CloseCodesSpec = field(default_factory=CloseCodesSpec)
    framing: FramingSpec = field(default_factory=FramingSpec)
    connection: ConnectionSpec = field(default_factory=ConnectionSpec)
    handshake: HandshakeSpec = field(default_factory=HandshakeSpec)
    permessage_deflate: PermessageDeflateSpec = field(default_factory=PermessageDeflateSpec)


def _unique(doc: Located, records, key: str, what: str) -> None:
    seen: dict[object, int] = {}
    for record, line in records:
        value = record[key]
        if value in seen:
            raise doc.error(
                record.key_lines.get(key, line),
                f"duplicate {what} {value!r} (first at line {seen[value]}); expected each {what} once",
            )
        seen[value] = record.key_lines.get(key, line)


def one_line(text: str) -> str:
    """Fold a doc (possibly a YAML block scalar) into one line: it lands in comments and labels."""
    return " ".join(text.split())


def _entries(records, value_key: str = "value", extra_keys: tuple[str, ...] = ()) -> list[Entry]:
    return [
        Entry(r["name"], r[value_key], one_line(r.get("doc", "")), one_line(r.get("rfc", "")),
              {k: r.get(k) for k in extra_keys})
        for r, _ in records
    ]


def _one_of(doc: Located, record: Map, key: str, allowed, where: str) -> None:
    if record[key] not in allowed:
        raise doc.error(
            record.key_lines[key],
            f"{where}: {key!r} is {record[key]!r}; expected one of {', '.join(map(str, allowed))}",
        )


DOC = {"doc": req(str), "rfc": req(str, describe="the source, such as \"RFC 6455 §5.2\"")}


def _load_opcodes(spec: Spec, doc: Located) -> None:
    spec.opcodes.control_bit = doc.section("control_bit", int)
    records = doc.records("opcodes", {"name": req(str), "value": req(int), "kind": req(str), **DOC})
    _unique(doc, records, "name", "opcode name")
    _unique(doc, records, "value", "opcode value")
    for index, (record, _) in enumerate(records):
        where = f"opcodes[{index}]"
        _one_of(doc, record, "kind", ("data", "control"), where)
        if not 0 <= record["value"] <= 0xF:
            raise doc.error(record.key_lines["value"], f"{where}: value {record['value']} expected in 0x0..0xF")
        is_control = bool(record["value"] & spec.opcodes.control_bit)
        if is_control != (record["kind"] == "control"):
            raise doc.error(
                record.key_lines["kind"],
                f"{where}: kind {record['kind']!r} contradicts control_bit {spec.opcodes.control_bit:#x} "
                f"for value {record['value']:#x}; expected {'control' if is_control else 'data'}",
            )
    spec.opcodes.entries = _entries(records, extra_keys=("kind",))
    _load_fragmentation(spec, doc)
    reserved = doc.records("reserved", {"first": req(int), "last": req(int), "kind": req(str), **DOC})
    taken = {o.value: o.name for o in spec.opcodes.entries}
    for index, (record, line) in enumerate(reserved):
        _one_of(doc, record, "kind", ("data", "control"), f"reserved[{index}]")
        for value in range(record["first"], record["last"] + 1):
            if value in taken:
                raise doc.error(line, f"reserved[{index}]: range includes {value:#x}, already opcode {taken[value]}; "
                                      "expected only unassigned values")
            taken[value] = "reserved"
    spec.opcodes.reserved = [
        Entry(f"{r['first']:#x}-{r['last']:#x}", (r["first"], r["last"]), one_line(r["doc"]), one_line(r["rfc"]),
              {"kind": r["kind"]})
        for r, _ in reserved
    ]


#: ``send_as`` value meaning "a Close frame without a code" (an empty payload, RFC 6455 §5.5.1).
SEND_NO_CODE = "no code"


FRAGMENT_TARGETS = {"open": True, "closed": False, "fail": None}


def _load_fragmentation(spec: Spec, doc: Located) -> None:
    schema = {"message_open": req(bool), "opcodes": req(list), "fin": opt(bool), "to": req(str), "reason": opt(str)}
    data_opcodes = [o.name for o in spec.opcodes.entries if o.kind == "data"]
    seen: dict[tuple[bool, str, bool], int] = {}
    rules = []
    for index, (record, line) in enumerate(doc.records("fragmentation", schema)):
        where = f"fragmentation[{index}]"
        _one_of(doc, record, "to", tuple(FRAGMENT_TARGETS), where)
        fails = record["to"] == "fail"
        if fails != ("reason" in record) or (not fails and "fin" not in record):
            raise doc.error(line, f"{where}: expected 'reason' (and no 'fin') with 'to: fail', "
                                  "and 'fin' (and no 'reason') otherwise")
        for opcode in record["opcodes"]:
            if opcode not in data_opcodes:
                raise doc.error(record.key_lines["opcodes"], f"{where}: opcodes names {opcode!r}; expected one of "
                                f"the data opcodes {', '.join(data_opcodes)}")
            fins = (True, False) if fails else (record["fin"],)
            for fin in fins:
                key = (record["message_open"], opcode, fin)
                if key in seen:
                    raise doc.error(line, f"{where}: a second row for {opcode} with message_open "
                                          f"{record['message_open']} and fin {fin} (first at line {seen[key]}); "
                                          "expected one")
                seen[key] = line
            rules.append(FragmentRule(record["message_open"], opcode, None if fails else record["fin"],
                                      FRAGMENT_TARGETS[record["to"]], record.get("reason", "")))
    missing = [f"{opcode} with message_open {is_open} and fin {fin}" for is_open in (False, True)
               for opcode in data_opcodes for fin in (True, False) if (is_open, opcode, fin) not in seen]
    if missing:
        raise doc.error(doc.data.key_lines["fragmentation"], f"fragmentation: no row for {missing[0]}; expected "
                        "every data opcode, message open or not, FIN set or not")
    spec.opcodes.fragmentation = rules


def _load_close_codes(spec: Spec, doc: Located) -> None:
    ranges = doc.records(
        "ranges", {"name": req(str), "first": req(int), "last": req(int), "wire": req(str), **DOC}
    )
    _unique(doc, ranges, "name", "range name")
    previous_last = None
    for index, (record, line) in enumerate(ranges):
        _one_of(doc, record, "wire", ("registered", "open"), f"ranges[{index}]")
        if record["first"] > record["last"] or (previous_last is not None and record["first"] <= previous_last):
            raise doc.error(line, f"ranges[{index}]: expected ascending, non-overlapping ranges (first <= last)")
        previous_last = record["last"]
    spec.close_codes.ranges = [
        Entry(r["name"], (r["first"], r["last"]), one_line(r["doc"]), one_line(r["rfc"]), {"wire": r["wire"]})
        for r, _ in ranges
    ]
    codes = doc.records(
        "codes",
        {"name": req(str), "value": req(int), "enum": req(bool), "wire": req(bool),
         "send_as": opt(int, str, describe=f"a close code that may be sent, or {SEND_NO_CODE!r}"), **DOC},
    )
    _unique(doc, codes, "name", "close code name")
    _unique(doc, codes, "value", "close code")
    for index, (record, _) in enumerate(codes):
        owner = [r for r in spec.close_codes.ranges if r.value[0] <= record["value"] <= r.value[1]]
        if not owner:
            raise doc.error(
                record.key_lines["value"],
                f"codes[{index}]: {record['value']} is in no declared range; expected a value inside one of "
                + ", ".join(f"{r.name} {r.value[0]}-{r.value[1]}" for r in spec.close_codes.ranges),
            )
    wire_codes = {record["value"] for record, _ in codes if record["wire"]}
    for index, (record, _) in enumerate(codes):
        if "send_as" not in record:
            continue
        send_as, where = record["send_as"], record.key_lines["send_as"]
        if record["wire"]:
            raise doc.error(where, f"codes[{index}]: 'send_as' on a code that may be sent itself; "
                                   "expected it only where wire is false")
        if isinstance(send_as, str) and send_as != SEND_NO_CODE:
            raise doc.error(where, f"codes[{index}]: 'send_as' is {send_as!r}; expected a close code "
                                   f"that may be sent, or {SEND_NO_CODE!r}")
        if isinstance(send_as, int) and send_as not in wire_codes:
            raise doc.error(where, f"codes[{index}]: 'send_as' is {send_as}, which may not be sent itself; "
                                   f"expected one of {', '.join(map(str, sorted(wire_codes)))} or {SEND_NO_CODE!r}")
    spec.close_codes.entries = _entries(codes, extra_keys=("enum", "wire", "send_as"))


def _load_framing(spec: Spec, doc: Located) -> None:
    header = doc.records("header", {"name": req(str), "value": req(int), "byte": req(int), **DOC})
    _unique(doc, header, "name", "header field")
    spec.framing.header_fields = _entries(header, extra_keys=("byte",))
    rsv = doc.records("rsv_bits", {"name": req(str), "mask": req(int), **DOC})
    _unique(doc, rsv, "name", "RSV bit")
    _unique(doc, rsv, "mask", "RSV mask")
    spec.framing.rsv_bits = _entries(rsv, value_key="mask")
    forms = doc.records(
        "length_forms",
        {"name": req(str), "bits": req(int), "marker": req(int, type(None)),
         "marker_name": req(str, type(None)), "max": req(int), **DOC},
    )
    _unique(doc, forms, "name", "length form")
    for index in range(1, len(forms)):
        if forms[index][0]["max"] <= forms[index - 1][0]["max"]:
            raise doc.error(forms[index][1], f"length_forms[{index}]: expected 'max' larger than the previous form's")
    spec.framing.length_forms = _entries(forms, value_key="max", extra_keys=("bits", "marker", "marker_name"))
    limits = doc.records("limits", {"name": req(str), "value": req(int), **DOC})
    _unique(doc, limits, "name", "limit")
    spec.framing.limits = _entries(limits)


def _load_inputs(doc: Located, sided: bool, sides: list[str]) -> list[Input]:
    schema = {"name": req(str), "direction": req(str), "event": req(str), "error": opt(bool), **DOC}
    if sided:
        schema["side"] = req(str)
    records = doc.records("inputs", schema)
    _unique(doc, records, "name", "input")
    result = []
    for index, (record, _) in enumerate(records):
        _check_input(doc, record, index, sides if sided else None)
        result.append(Input(record["name"], record["direction"], one_line(record["event"]), one_line(record["doc"]),
                            one_line(record["rfc"]), record.get("error", False), record.get("side")))
    return result


def _check_input(doc: Located, record: Map, index: int, sides: list[str] | None) -> None:
    _one_of(doc, record, "direction", DIRECTIONS, f"inputs[{index}]")
    if sides is not None:
        _one_of(doc, record, "side", sides, f"inputs[{index}]")
    if not record["name"].isidentifier() or record["name"] != record["name"].lower():
        raise doc.error(record.key_lines["name"], f"inputs[{index}]: name {record['name']!r}; expected a lowercase identifier")


def _names(doc: Located, record: Map, key: str, allowed: list[str], where: str, what: str) -> tuple[str, ...]:
    """A list of names under ``key``, each one of ``allowed`` (or, if empty, a CamelCase identifier)."""
    values = record.get(key, [])
    for value in values:
        ok = value in allowed if allowed else (isinstance(value, str) and value.isidentifier() and value[:1].isupper())
        if not ok:
            expected = f"one of {', '.join(allowed)}" if allowed else "a class name of wsspec.events"
            raise doc.error(record.key_lines[key], f"{where}: {key} names {value!r}, not {what}; expected {expected}")
    return tuple(values)


def _load_connection_inputs(spec: Spec, doc: Located) -> list[Input]:
    """connection.yaml's inputs: the events, opcodes and close codes of each are data the runtime maps by."""
    schema = {"name": req(str), "direction": req(str), "events": req(list), "opcodes": opt(list),
              "codes": opt(list), "error": opt(bool), **DOC}
    records = doc.records("inputs", schema)
    _unique(doc, records, "name", "input")
    opcode_names = [o.name for o in spec.opcodes.entries]
    code_names = [c.name for c in spec.close_codes.entries]
    result, owner, sent = [], {}, {}
    for index, (record, _) in enumerate(records):
        where = f"inputs[{index}]"
        _check_input(doc, record, index, None)
        events = _names(doc, record, "events", [], where, "an event class")
        opcodes = _names(doc, record, "opcodes", opcode_names, where, "a declared opcode")
        codes = _names(doc, record, "codes", code_names, where, "a declared close code")
        if opcodes and record["direction"] != "receive":
            raise doc.error(record.key_lines["opcodes"], f"{where}: opcodes on a {record['direction']} input; "
                                                          "expected them only on receive inputs")
        for opcode in opcodes:
            if opcode in owner:
                raise doc.error(record.key_lines["opcodes"], f"{where}: opcode {opcode} already belongs to input "
                                                              f"{owner[opcode]}; expected each opcode in one input")
            owner[opcode] = record["name"]
        if record["direction"] == "send":
            for event in events:
                if event in sent:
                    raise doc.error(record.key_lines["events"], f"{where}: event {event} is already sent as "
                                                                 f"{sent[event]}; expected each event in one send input")
                sent[event] = record["name"]
        label = " / ".join(events)
        if codes:
            values = {c.name: c.value for c in spec.close_codes.entries}
            label += "(" + " / ".join(str(values[c]) for c in codes) + ")"
        result.append(Input(record["name"], record["direction"], label, one_line(record["doc"]),
                            one_line(record["rfc"]), record.get("error", False), None, events, opcodes, codes))
    missing = [name for name in opcode_names if name not in owner]
    if missing:
        raise doc.error(doc.data.key_lines["inputs"], f"inputs: opcode {missing[0]} belongs to no input; "
                                                      "expected every opcode of opcodes.yaml in one receive input")
    return result


def _load_transitions(doc: Located, states: list[str], inputs: list[Input], sides: list[str] | None) -> list[Transition]:
    schema = {"from": req(str, list, describe="a state or a list of states"), "on": req(str), "to": req(str)}
    if sides is not None:
        schema["side"] = req(str)
    by_name = {i.name: i for i in inputs}
    result: list[Transition] = []
    seen: dict[tuple, int] = {}
    for index, (record, line) in enumerate(doc.records("transitions", schema)):
        where = f"transitions[{index}]"
        sources = record["from"] if isinstance(record["from"], list) else [record["from"]]
        for source in sources:
            if source not in states:
                raise doc.error(record.key_lines["from"], f"{where}: 'from' names undeclared state {source!r}; "
                                f"expected one of {', '.join(states)}")
        if record["to"] != STAY and record["to"] not in states:
            raise doc.error(record.key_lines["to"], f"{where}: 'to' names undeclared state {record['to']!r}; "
                            f"expected one of {', '.join(states)} or {STAY!r}")
        if record["on"] not in by_name:
            raise doc.error(record.key_lines["on"], f"{where}: 'on' names undeclared input {record['on']!r}; "
                            f"expected one of {', '.join(by_name)}")
        side = record.get("side")
        if sides is not None:
            _one_of(doc, record, "side", sides, where)
            if by_name[record["on"]].side != side:
                raise doc.error(record.key_lines["side"], f"{where}: input {record['on']!r} belongs to side "
                                f"{by_name[record['on']].side}; expected that side")
        for source in sources:
            key = (side, source, record["on"])
            if key in seen:
                raise doc.error(line, f"{where}: duplicate transition from {source} on {record['on']}"
                                + (f" for {side}" if side else "") + f" (first at line {seen[key]}); expected one per state and input")
            seen[key] = line
            target = source if record["to"] == STAY else record["to"]
            result.append(Transition(source, record["on"], target, side, line))
    return result


def _load_connection(spec: Spec, doc: Located) -> None:
    states = doc.records("states", {"name": req(str), "value": req(int), **DOC})
    _unique(doc, states, "name", "state")
    _unique(doc, states, "value", "state value")
    spec.connection.states = _entries(states)
    names = spec.connection.state_names
    initial = doc.section("initial", str)
    if initial not in names:
        raise doc.error(doc.data.key_lines["initial"], f"'initial' names undeclared state {initial!r}; expected one of {', '.join(names)}")
    spec.connection.initial_state = initial
    types = doc.records("connection_types", {"name": req(str), "value": req(int), **DOC})
    _unique(doc, types, "name", "connection type")
    _unique(doc, types, "value", "connection type value")
    spec.connection.types = _entries(types)
    spec.connection.inputs = _load_connection_inputs(spec, doc)
    for index, (record, _) in enumerate(doc.records("receive_bytes", {"state": req(str), "action": req(str)})):
        where = f"receive_bytes[{index}]"
        _one_of(doc, record, "state", names, where)
        _one_of(doc, record, "action", RECEIVE_ACTIONS, where)
        if record["state"] in spec.connection.receive_bytes:
            raise doc.error(record.line, f"{where}: duplicate state {record['state']}; expected each state once")
        spec.connection.receive_bytes[record["state"]] = record["action"]
    spec.connection.transitions = _load_transitions(doc, names, spec.connection.inputs, None)
    # The runtime looks a transition up for every frame it parses and for a
    # lost transport in any post-handshake state: each must have a row.
    defined = {(t.source, t.input) for t in spec.connection.transitions}
    for index, (record, _) in enumerate(doc.records("receive_bytes", {"state": req(str), "action": req(str)})):
        needed = [i.name for i in spec.connection.inputs
                  if i.direction == "receive" and (record["action"] == "parse" or i.name == "connection_lost")]
        for name in needed:
            if (record["state"], name) not in defined:
                raise doc.error(record.line, f"receive_bytes[{index}]: state {record['state']} "
                                f"({record['action']}) has no transition on {name}; expected one in 'transitions'")


def _load_handshake(spec: Spec, doc: Located) -> None:
    for key, kind in (("version", str), ("upgrade_token", str), ("connection_token", str),
                      ("accept_guid", str), ("nonce_bytes", int), ("method", str), ("http_version", str),
                      ("switching_protocols", int), ("bad_request", int), ("upgrade_required", int),
                      ("max_incomplete_event_size", int), ("headers_too_large", int), ("forbidden", int)):
        spec.handshake.constants[key] = doc.section(key, kind)
    headers = doc.records("headers", {"name": req(str), "value": req(str), "rfc": req(str)})
    _unique(doc, headers, "name", "header constant")
    _unique(doc, headers, "value", "header name")
    seen: dict[str, int] = {}
    for index, (record, _) in enumerate(headers):
        lower = record["value"].lower()
        if lower in seen:
            raise doc.error(record.key_lines["value"], f"headers[{index}]: header {record['value']!r} "
                            f"repeats line {seen[lower]} (names are case-insensitive); expected each header once")
        seen[lower] = record.key_lines["value"]
    spec.handshake.headers = [Entry(r["name"], r["value"], "", one_line(r["rfc"])) for r, _ in headers]
    sides = [t.name for t in spec.connection.types]
    spec.handshake.inputs = _load_inputs(doc, sided=True, sides=sides)
    spec.handshake.transitions = _load_transitions(doc, spec.connection.state_names, spec.handshake.inputs, sides)


def _mapping(doc: Located, key: str, schema: dict) -> Map:
    """A top-level mapping of the file, checked against ``schema``."""
    record = doc.section(key, dict)
    doc.check(record, schema, key, doc.data.key_lines[key])
    return record


def _is_token(text: str, symbols: str) -> bool:
    return bool(text) and all(c.isascii() and (c.isalnum() or c in symbols) for c in text)


#: The token characters besides letters and digits (RFC 7230 §3.2.6 tchar): extension and
#: parameter names must be tokens of the Sec-WebSocket-Extensions grammar (RFC 6455 §9.1).
TOKEN_SYMBOLS = "!#$%&'*+-.^_`|~"


def _load_permessage_deflate(spec: Spec, doc: Located) -> None:
    name = doc.section("name", str)
    if not _is_token(name, TOKEN_SYMBOLS):
        raise doc.error(doc.data.key_lines["name"], f"'name' is {name!r}; expected a token (RFC 7230 §3.2.6)")
    spec.permessage_deflate.name = Entry("name", name, "", one_line(doc.section("name_rfc", str)))
    _load_pmd_window_and_tail(spec, doc)
    _load_pmd_parameters(spec, doc, TOKEN_SYMBOLS)
    _load_pmd_defaults(spec, doc)


def _load_pmd_defaults(spec: Spec, doc: Located) -> None:
    records = doc.records("defaults", {"name": req(str), "value": req(int), **DOC})
    _unique(doc, records, "name", "default")
    low, high = spec.permessage_deflate.window.value
    for index, (record, _) in enumerate(records):
        where = f"defaults[{index}]"
        if not record["name"].isidentifier() or record["name"] != record["name"].lower():
            raise doc.error(record.key_lines["name"], f"{where}: name {record['name']!r}; expected a lower-case "
                            "Python identifier")
        value = record["value"]
        if isinstance(value, bool) or value < 0:
            raise doc.error(record.key_lines["value"], f"{where}: value {value!r}; expected an int >= 0")
        if record["name"].endswith("window_bits") and not low <= value <= high:
            raise doc.error(record.key_lines["value"], f"{where}: value {value}; expected {low}..{high}")
    spec.permessage_deflate.defaults = _entries(records)


def _load_pmd_window_and_tail(spec: Spec, doc: Located) -> None:
    window = _mapping(doc, "window_bits", {"min": req(int), "max": req(int), "default": req(int),
                                           "zlib_min": req(int), **DOC})
    low, high = window["min"], window["max"]
    if not 1 <= low <= high:
        raise doc.error(window.key_lines["max"], f"window_bits: min {low} and max {high}; expected 1 <= min <= max")
    for key in ("default", "zlib_min"):
        if not low <= window[key] <= high:
            raise doc.error(window.key_lines[key], f"window_bits: {key} is {window[key]}; expected {low}..{high}")
    spec.permessage_deflate.window = Entry("window_bits", (low, high), one_line(window["doc"]), one_line(window["rfc"]),
                            {"default": window["default"], "zlib_min": window["zlib_min"]})

    tail = _mapping(doc, "tail", {"bytes": req(list), **DOC})
    values = tail["bytes"]
    if not values or any(not isinstance(b, int) or isinstance(b, bool) or not 0 <= b <= 0xFF for b in values):
        raise doc.error(tail.key_lines["bytes"], f"tail: bytes is {values!r}; expected a non-empty list of integers 0..255")
    spec.permessage_deflate.tail = Entry("tail", bytes(values), one_line(tail["doc"]), one_line(tail["rfc"]))


def _load_pmd_parameters(spec: Spec, doc: Located, symbols: str) -> None:
    sides = [t.name for t in spec.connection.types]
    records = doc.records("parameters", {
        "name": req(str), "sender": req(str), "kind": req(str), "offer": req(str), "response": req(str),
        "response_needs_offer": req(bool), **DOC,
    })
    _unique(doc, records, "name", "parameter")
    roles: dict[tuple[str, str], int] = {}
    for index, (record, line) in enumerate(records):
        where = f"parameters[{index}]"
        if not _is_token(record["name"], symbols) or not record["name"].isidentifier():
            raise doc.error(record.key_lines["name"], f"{where}: name {record['name']!r}; expected a token that is "
                            "also a Python identifier")
        _one_of(doc, record, "sender", sides, where)
        _one_of(doc, record, "kind", PMD_KINDS, where)
        _one_of(doc, record, "offer", PMD_VALUE_RULES, where)
        _one_of(doc, record, "response", PMD_VALUE_RULES, where)
        takes_value = record["kind"] == "max_window_bits"
        for key in ("offer", "response"):
            if (record[key] != "none") != takes_value and not (takes_value and record[key] == "optional"):
                expected = "optional or required" if takes_value else "none"
                raise doc.error(record.key_lines[key], f"{where}: {key} is {record[key]!r} for a {record['kind']} "
                                f"parameter; expected {expected}")
        if record["response"] == "optional":
            raise doc.error(record.key_lines["response"], f"{where}: response is 'optional'; expected none or "
                            "required (a response states the agreed value)")
        role = (record["sender"], record["kind"])
        if role in roles:
            raise doc.error(line, f"{where}: a second {record['kind']} parameter for {record['sender']} (first at "
                            f"line {roles[role]}); expected one per sender and kind")
        roles[role] = line
    missing = [f"{kind} for {side}" for side in sides for kind in PMD_KINDS if (side, kind) not in roles]
    if missing:
        raise doc.error(doc.data.key_lines["parameters"], f"parameters: none for {', '.join(missing)}; expected one "
                        "parameter per sender and kind")
    spec.permessage_deflate.parameters = _entries(records, value_key="name",
                                   extra_keys=("sender", "kind", "offer", "response", "response_needs_offer"))


def _check_reachable(spec: Spec, docs: dict[str, Located]) -> None:
    reached = {spec.connection.initial_state}
    for t in spec.handshake.transitions + spec.connection.transitions:
        if t.target != t.source:
            reached.add(t.target)
    doc = docs["connection.yaml"]
    states = doc.data["states"]
    for state, line in zip(states, states.item_lines):
        if state["name"] not in reached:
            raise doc.error(line, f"state {state['name']} is reached by no transition; expected a transition "
                                  f"in connection.yaml or handshake.yaml with 'to: {state['name']}'")
    used = {t.input for t in spec.connection.transitions + spec.handshake.transitions}
    for name, inputs in (("connection.yaml", spec.connection.inputs), ("handshake.yaml", spec.handshake.inputs)):
        doc = docs[name]
        records = doc.data["inputs"]
        for record, line in zip(records, records.item_lines):
            if record["name"] not in used:
                raise doc.error(line, f"input {record['name']} is used by no transition; expected at least one")


def _display(path: Path) -> str:
    """How errors name a spec file: relative to the working directory when inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def load_spec(root: Path) -> Spec:
    """Load and validate every spec file under ``root`` (the spec/ folder)."""
    docs: dict[str, Located] = {}
    sources: dict[str, str] = {}
    for name in SPEC_FILES:
        path = root / name
        display = _display(path)
        if not path.exists():
            raise SpecError(display, 1, "file missing; expected one of the spec files " + ", ".join(SPEC_FILES))
        docs[name] = Located(display, load_yaml(path, display))
        sources[name] = f"spec/{name}"  # what generated headers name: stable wherever spec/ lives
    spec = Spec(root=root, sources=sources)
    _load_opcodes(spec, docs["opcodes.yaml"])
    _load_close_codes(spec, docs["close_codes.yaml"])
    _load_framing(spec, docs["framing.yaml"])
    _load_connection(spec, docs["connection.yaml"])
    _load_handshake(spec, docs["handshake.yaml"])
    _load_permessage_deflate(spec, docs["permessage_deflate.yaml"])
    _check_reachable(spec, docs)
    return spec

"""RouterOS API queries: each word and operator, `.proplist`, and librouteros's query builder end to end."""
from __future__ import annotations

import librouteros
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from librouteros.exceptions import TrapError
from librouteros.query import And, Key, Or

from labsim.fakes.routeros.api import Reply
from labsim.fakes.routeros.query import QueryError, apply_proplist, compile_query, equal, filter_rows, greater, less
from labsim.fakes.routeros.server import RouterOSServer

ROWS = [
    {".id": "*1", "name": "ether1", "type": "ether", "mtu": "1500", "disabled": "false", "comment": "uplink"},
    {".id": "*A", "name": "ether2", "type": "ether", "mtu": "9000", "disabled": "true"},
    {".id": "*1B", "name": "vlan10", "type": "vlan", "mtu": "1496", "disabled": "false", "comment": ""},
    {".id": "*2", "name": "bridge1", "type": "bridge", "mtu": "auto", "disabled": "false"},
]


def names(words):
    return [r["name"] for r in filter_rows(ROWS, words)]


# ---------------------------------------------------------------- single words

def test_no_query_returns_everything():
    assert names([]) == ["ether1", "ether2", "vlan10", "bridge1"]


def test_has_and_lacks_property():
    assert names(["?comment"]) == ["ether1", "vlan10"]  # an empty value still is a value
    assert names(["?-comment"]) == ["ether2", "bridge1"]
    assert names(["?nosuch"]) == []
    assert names(["?-nosuch"]) == ["ether1", "ether2", "vlan10", "bridge1"]


def test_equality_both_spellings():
    assert names(["?type=ether"]) == ["ether1", "ether2"]
    assert names(["?=type=ether"]) == ["ether1", "ether2"]
    assert names(["?comment="]) == ["vlan10"]
    assert names(["?=name=ether1=x"]) == []  # value may contain '='


def test_equality_compares_booleans_by_meaning():
    assert names(["?disabled=no"]) == ["ether1", "vlan10", "bridge1"]
    assert names(["?disabled=false"]) == ["ether1", "vlan10", "bridge1"]
    assert names(["?=disabled=yes"]) == ["ether2"]
    assert names(["?disabled=true"]) == ["ether2"]


def test_ids_compare_by_hex_number():
    assert names(["?.id=*a"]) == ["ether2"]
    assert names(["?.id=*0001"]) == ["ether1"]
    assert names(["?>.id=*9"]) == ["ether2", "vlan10"]  # *A=10 and *1B=27, not text order
    assert names(["?<.id=*2"]) == ["ether1"]


def test_less_and_greater_are_numeric_for_numbers():
    assert names(["?<mtu=1500"]) == ["vlan10"]
    assert names(["?<mtu=999"]) == []  # text order would say "1500" < "999"
    # A value of another kind ("auto") compares as text, so `?>comment=` keeps meaning "non-empty".
    assert names(["?>mtu=1500"]) == ["ether2", "bridge1"]


def test_greater_than_empty_text_means_non_empty():
    assert names(["?>comment="]) == ["ether1"]  # the manual's "routes with a non-empty comment"


def test_comparisons_on_a_missing_property_are_false():
    assert names(["?<nosuch=5"]) == []
    assert names(["?>nosuch=5"]) == []
    assert names(["?nosuch=5"]) == []


def test_value_helpers():
    assert equal("0x8000", "32768") and equal("yes", "true") and not equal("yes", "no")
    assert less("9", "10") and greater("b", "a") and less("*9", "*A") and not equal("auto", "1500")


# ---------------------------------------------------------------- ?# operators

def test_bare_words_are_anded():
    assert names(["?type=ether", "?disabled=no"]) == ["ether1"]


def test_or_of_two_pushed_values():
    assert names(["?type=ether", "?type=vlan", "?#|"]) == ["ether1", "ether2", "vlan10"]


def test_not():
    assert names(["?type=ether", "?#!"]) == ["vlan10", "bridge1"]


def test_and_not_from_the_manual():
    # /ip/route/print ?>distance=1 ?gateway=172.16.1.1 ?#&!  ==  !(distance>1 && gateway=...)
    rows = [{"distance": "2", "gateway": "172.16.1.1"}, {"distance": "1", "gateway": "172.16.1.1"},
            {"distance": "5", "gateway": "10.0.0.1"}]
    assert filter_rows(rows, ["?>distance=1", "?gateway=172.16.1.1", "?#&!"]) == rows[1:]


def test_word_order_matters():
    # Negating before or after the OR are different queries.
    assert names(["?type=ether", "?#!", "?type=vlan", "?#|"]) == ["vlan10", "bridge1"]
    assert names(["?type=ether", "?type=vlan", "?#|", "?#!"]) == ["bridge1"]


def test_operators_reach_into_the_infinite_true_stack():
    # One pushed value OR an implicit true is always true.
    assert names(["?type=vlan", "?#|"]) == ["ether1", "ether2", "vlan10", "bridge1"]
    # Negating the implicit true leaves a false: nothing passes.
    assert names(["?#!"]) == []
    assert names(["?#"]) == ["ether1", "ether2", "vlan10", "bridge1"]  # no operations at all


def test_index_followed_by_a_character_pushes_a_copy():
    # stack (top first): [type=vlan, type=ether]; "1!" pushes !type=ether on top.
    # Items must then pass all three: ether AND vlan AND not ether: nothing.
    assert names(["?type=ether", "?type=vlan", "?#1!"]) == []
    # "1." copies index 1 and the dot does nothing: same as a plain AND of all.
    assert names(["?type=ether", "?disabled=no", "?#1."]) == ["ether1"]


def test_index_at_end_of_word_replaces_the_whole_stack():
    # The stack becomes only the value at index 1 (type=ether): the disabled test is forgotten.
    assert names(["?type=ether", "?disabled=no", "?#1"]) == ["ether1", "ether2"]
    assert names(["?type=ether", "?disabled=no", "?#0"]) == ["ether1", "vlan10", "bridge1"]
    # Beyond the pushed values lies the infinite true: everything passes.
    assert names(["?type=ether", "?#7"]) == ["ether1", "ether2", "vlan10", "bridge1"]
    # ...and the replacement refills the infinite part too: after "0" with a false top, a later
    # "&" that pops past the pushed values still sees false.
    assert names(["?type=nosuch", "?#0", "?#&|"]) == []


def test_multi_digit_index():
    words = [f"?name={n}" for n in ["ether1"] + ["x"] * 10] + ["?#10"]  # index 10 = the first word
    assert names(words) == ["ether1"]


def test_dot_elsewhere_pushes_a_copy_of_the_top():
    # top = type=vlan; "." duplicates it, "|" ors the copies, the original vlan test remains.
    assert names(["?type=vlan", "?#.|"]) == ["vlan10"]
    assert names(["?type=vlan", "?#.!|"]) == ["ether1", "ether2", "vlan10", "bridge1"]


# ---------------------------------------------------------------- bad words

@pytest.mark.parametrize("word", ["?", "?#x", "?#1 |", "?<mtu", "?>", "?=", "?=name", "?-", "?-a=b",
                                  "?~name=x", "?name~=x", "name=x", "?<=x"])
def test_bad_query_words_are_refused_with_a_trap(word):
    with pytest.raises(QueryError) as info:
        compile_query(["?type=ether", word])
    assert info.value.trap.message.startswith(f"invalid query word ({word})")
    assert info.value.trap.category is None


# ---------------------------------------------------------------- .proplist

def test_proplist_keeps_listed_keys_in_row_order_and_id_only_when_listed():
    assert apply_proplist(ROWS[:1], "name,mtu") == [{"name": "ether1", "mtu": "1500"}]
    assert apply_proplist(ROWS[:1], "mtu,.id") == [{".id": "*1", "mtu": "1500"}]
    assert apply_proplist(ROWS[1:2], "comment") == [{}]  # absent property: the row stays, empty
    assert apply_proplist(ROWS[:1], None) == [ROWS[0]]
    assert apply_proplist(ROWS[:1], "") == [{}]


# ---------------------------------------------------------------- random query trees (no sockets)

NAMES = ["ether1", "ether2", "bridge", "vlan10", "wlan"]
COMMENTS = ["", "a", "b", "uplink"]

row_st = st.fixed_dictionaries({}, optional={
    ".id": st.integers(1, 300).map(lambda n: f"*{n:X}"),
    "name": st.sampled_from(NAMES),
    "mtu": st.integers(0, 20).map(str),
    "disabled": st.sampled_from(["true", "false"]),
    "comment": st.sampled_from(COMMENTS),
})
rows_st = st.lists(row_st, max_size=8)

# Per key: query values of the right Python type (what a caller hands librouteros) and how a row's
# text is read back as that type for the expected answer.
VALUES = {
    ".id": st.integers(1, 300).flatmap(lambda n: st.sampled_from([f"*{n:X}", f"*{n:x}"])),
    "name": st.sampled_from(NAMES),
    "mtu": st.integers(0, 20),
    "disabled": st.booleans(),
    "comment": st.sampled_from(COMMENTS),
}
IN_VALUES = {k: v for k, v in VALUES.items() if k != "disabled"}  # Key.In sends str(True): not "yes"


def typed(key, text):
    if key == ".id":
        return int(text[1:], 16)
    if key == "mtu":
        return int(text)
    if key == "disabled":
        return text in ("true", "yes")
    return text


def qtyped(key, value):
    return int(value[1:], 16) if key == ".id" else value


leaf_st = st.one_of(
    st.tuples(st.sampled_from(["eq", "ne", "lt", "gt"]), st.sampled_from(sorted(VALUES)))
    .flatmap(lambda t: st.tuples(st.just(t[0]), st.just(t[1]), VALUES[t[1]])),
    st.sampled_from(sorted(IN_VALUES)).flatmap(
        lambda k: st.tuples(st.just("in"), st.just(k), st.lists(IN_VALUES[k], min_size=1, max_size=3))),
)
tree_st = st.recursive(leaf_st, lambda kids: st.tuples(st.sampled_from(["and", "or"]),
                                                       st.lists(kids, min_size=2, max_size=3)),
                       max_leaves=8)
where_st = st.lists(tree_st, max_size=3)


def to_words(tree):
    """The librouteros query builder's generator for a tree (what a provisioner would write)."""
    op = tree[0]
    if op in ("and", "or"):
        return (And if op == "and" else Or)(*(to_words(t) for t in tree[1]))
    key = Key(tree[1])
    if op == "eq":
        return key == tree[2]
    if op == "ne":
        return key != tree[2]
    if op == "lt":
        return key < tree[2]
    if op == "gt":
        return key > tree[2]
    return key.In(*tree[2])


def expected(tree, row):
    """Independent meaning of a tree: plain Python on typed values, no stack machine."""
    op = tree[0]
    if op == "and":
        return all(expected(t, row) for t in tree[1])
    if op == "or":
        return any(expected(t, row) for t in tree[1])
    key = tree[1]
    if op == "ne":
        return not expected(("eq",) + tree[1:], row)
    if op == "in":
        return any(expected(("eq", key, v), row) for v in tree[2])
    if key not in row:
        return False
    have, want = typed(key, row[key]), qtyped(key, tree[2])
    return {"eq": have == want, "lt": have < want, "gt": have > want}[op]


def query_words(where):
    return list(librouteros.query.Query(path=None, keys=(), api=None).where(*map(to_words, where)).query)


@settings(max_examples=400, deadline=None)
@given(rows_st, where_st)
def test_librouteros_query_trees_filter_like_python(rows, where):
    words = query_words(where)
    want = [r for r in rows if all(expected(t, r) for t in where)]
    assert filter_rows(rows, words) == want


# ---------------------------------------------------------------- the same through a live server

class RowsHandler:
    """Returns `rows` for /interface/print; records what it was asked."""

    def __init__(self):
        self.rows: list[dict[str, str]] = []
        self.calls: list[tuple[str, dict, list]] = []

    def execute(self, command, attrs, queries):
        self.calls.append((command, attrs, queries))
        return Reply(rows=[dict(r) for r in self.rows])


@pytest.fixture(scope="module")
def live():
    handler = RowsHandler()
    server = RouterOSServer(handler, username="admin", password="secret", version="7.18.2").start()
    api = librouteros.connect("127.0.0.1", "admin", "secret", port=server.port, timeout=5)
    yield handler, api
    api.close()
    server.stop()


def parse_row(row):
    """What librouteros makes of a row (its int / bool casting), to compare against its output."""
    return dict(librouteros.protocol.parse_word(f"={k}={v}") for k, v in row.items())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_st, where=where_st, keys=st.lists(st.sampled_from(sorted(VALUES)), unique=True, max_size=3))
def test_librouteros_select_where_against_the_server(live, rows, where, keys):
    handler, api = live
    handler.rows = rows
    path = api.path("interface")
    got = list(path.select(*map(Key, keys)).where(*map(to_words, where)))
    want = [r for r in rows if all(expected(t, r) for t in where)]
    if keys:
        want = [{k: v for k, v in r.items() if k in keys} for r in want]
    want = [r for r in want if r]  # librouteros drops an empty !re
    assert got == [parse_row(r) for r in want]
    command, attrs, queries = handler.calls[-1]
    assert command == "/interface/print"
    assert queries == query_words(where)  # the handler sees the raw words too
    assert attrs.get(".proplist") == (",".join(keys) if keys else None)


def test_bad_query_word_through_librouteros_is_a_trap(live):
    handler, api = live
    handler.rows = ROWS
    before = len(handler.calls)
    with pytest.raises(TrapError, match=r"invalid query word \(\?#x\)"):
        list(api.rawCmd("/interface/print", "?#x"))
    assert len(handler.calls) == before  # refused before the handler ran
    assert len(list(api.path("interface"))) == len(ROWS)  # the session goes on


def test_queries_are_not_applied_to_non_print_commands(live):
    handler, api = live
    handler.rows = ROWS
    got = list(api.rawCmd("/interface/monitor", "?type=vlan", "=.proplist=name"))
    assert len(got) == len(ROWS) and got[0]["type"] == "ether"  # untouched: the handler decides
    assert handler.calls[-1] == ("/interface/monitor", {".proplist": "name"}, ["?type=vlan"])


def test_getall_is_filtered_like_print(live):
    handler, api = live
    handler.rows = ROWS
    got = list(api.rawCmd("/interface/getall", "?type=vlan", "=.proplist=name"))
    assert got == [{"name": "vlan10"}]

"""RouterOS API framing: lengths, words, sentences, and the incremental reader (no sockets here)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from librouteros import protocol as lr

from labsim.fakes.routeros import codec
from labsim.fakes.routeros.codec import (
    ProtocolViolation,
    SentenceReader,
    decode_length,
    decode_sentence,
    decode_word,
    encode_length,
    encode_sentence,
    encode_word,
    prefix_size,
)

# (length, exact encoding) at every boundary of the five forms.
BOUNDARIES = [
    (0x00, b"\x00"),
    (0x7F, b"\x7f"),
    (0x80, b"\x80\x80"),
    (0x3FFF, b"\xbf\xff"),
    (0x4000, b"\xc0\x40\x00"),
    (0x1FFFFF, b"\xdf\xff\xff"),
    (0x200000, b"\xe0\x20\x00\x00"),
    (0xFFFFFFF, b"\xef\xff\xff\xff"),
    (0x10000000, b"\xf0\x10\x00\x00\x00"),
    (0xFFFFFFFF, b"\xf0\xff\xff\xff\xff"),
]


def _size_for(n: int) -> int:
    return 1 if n < 0x80 else 2 if n < 0x4000 else 3 if n < 0x200000 else 4 if n < 0x10000000 else 5


# ---------------------------------------------------------------- lengths

@pytest.mark.parametrize("length, wire", BOUNDARIES)
def test_length_boundaries_encode_exactly(length, wire):
    assert encode_length(length) == wire
    assert decode_length(wire) == (length, len(wire))
    assert prefix_size(wire[0]) == len(wire)


def test_length_out_of_range_is_refused():
    with pytest.raises(ValueError):
        encode_length(0x100000000)
    with pytest.raises(ValueError):
        encode_length(-1)


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_any_length_round_trips_in_the_shortest_form(n):
    wire = encode_length(n)
    assert len(wire) == _size_for(n)
    assert decode_length(wire) == (n, len(wire))
    # With bytes after it, the prefix still decodes the same.
    assert decode_length(wire + b"\x01\x02", 0) == (n, len(wire))


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=0xFFFFFFF))
def test_lengths_agree_with_librouteros(n):
    ours = encode_length(n)
    assert ours == lr.encode_length(n)
    assert lr.decode_length(ours) == n
    assert lr.determine_length(ours[:1]) == len(ours) - 1


@settings(deadline=None)
@given(st.binary(min_size=1, max_size=5))
def test_librouteros_prefixes_decode_the_same(wire):
    """Whatever 1-4 byte prefix librouteros can read, we read the same number from."""
    first = wire[0]
    if first >= 0xF0:
        return  # librouteros refuses these; covered by the 5-byte and reserved tests
    size = lr.determine_length(wire[:1]) + 1
    if len(wire) < size:
        assert decode_length(wire) is None  # need more bytes
        return
    assert decode_length(wire) == (lr.decode_length(wire[:size]), size)


@pytest.mark.parametrize("first", range(0xF8, 0x100))
def test_reserved_control_bytes_are_a_violation(first):
    with pytest.raises(ProtocolViolation, match=f"reserved control byte 0x{first:02X}"):
        decode_length(bytes((first, 0, 0, 0, 0)))
    with pytest.raises(ProtocolViolation, match="reserved control byte"):
        SentenceReader().feed(bytes((first,)))


@pytest.mark.parametrize("first", range(0xF0, 0xF8))
def test_five_byte_form_ignores_the_low_bits_of_its_first_byte(first):
    assert decode_length(bytes((first, 0, 0, 0, 5))) == (5, 5)


@pytest.mark.parametrize("length, wire", BOUNDARIES[1:])
def test_every_proper_prefix_of_a_length_needs_more_bytes(length, wire):
    for cut in range(len(wire)):
        assert decode_length(wire[:cut]) is None


# ---------------------------------------------------------------- words and sentences

@settings(deadline=None)
@given(st.binary(max_size=300))
def test_any_byte_word_round_trips(data):
    wire = encode_word(data)
    assert wire == encode_length(len(data)) + data
    if data:
        assert decode_sentence(wire + b"\x00") == [decode_word(data)]
        assert decode_word(data).encode("latin-1") == data  # byte-transparent


@settings(deadline=None)
@given(st.text(max_size=100))
def test_any_text_word_round_trips(text):
    wire = encode_word(text)
    length, size = decode_length(wire)
    back = decode_word(wire[size:size + length])
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        # Only simulator-made text can hold chars above U+00FF: it goes out as UTF-8 bytes.
        assert back == text.encode("utf-8").decode("latin-1")
    else:
        assert back == text


words_st = st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8)
ascii_words_st = st.lists(
    st.text(st.characters(min_codepoint=1, max_codepoint=127), min_size=1, max_size=40),
    min_size=1, max_size=8)


@settings(deadline=None)
@given(words_st)
def test_sentence_round_trip(words):
    expected = [decode_word(codec.word_bytes(w)) for w in words]
    assert decode_sentence(encode_sentence(words)) == expected


@settings(deadline=None)
@given(ascii_words_st)
def test_sentences_agree_with_librouteros_both_ways(words):
    ours = encode_sentence(words)
    assert ours == lr.encode_sentence(*words, encoding="ASCII")
    assert decode_sentence(lr.encode_sentence(*words, encoding="latin-1")) == words

    class Transport:  # librouteros's reader over our bytes
        def __init__(self, data):
            self.data = data

        def read(self, n):
            chunk, self.data = self.data[:n], self.data[n:]
            assert len(chunk) == n
            return chunk

    if words[0] == "!fatal":
        return  # librouteros turns that into FatalError and closes the transport
    proto = lr.ApiProtocol(Transport(ours), encoding="ASCII")
    reply_word, rest = proto.readSentence()
    assert [reply_word, *rest] == words


def test_long_words_use_multibyte_lengths_and_round_trip():
    for n in (0x7F, 0x80, 0x3FFF, 0x4000, 0x20000):
        word = b"x" * n
        assert decode_sentence(encode_sentence([word])) == ["x" * n]


# ---------------------------------------------------------------- the incremental reader

@settings(deadline=None)
@given(st.lists(words_st, min_size=1, max_size=5), st.data())
def test_reader_splits_a_stream_at_any_points(sentences, data):
    stream = b"".join(encode_sentence(s) for s in sentences)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader, got, last = SentenceReader(), [], 0
    for cut in cuts + [len(stream)]:
        got += reader.feed(stream[last:cut])
        last = cut
    assert got == [[decode_word(codec.word_bytes(w)) for w in s] for s in sentences]
    assert reader.pending == 0
    reader.finish()


def test_reader_feeds_byte_by_byte_and_reports_empty_sentences():
    stream = encode_sentence(["/login", "=name=admin"]) + b"\x00" + encode_sentence(["/quit"])
    reader, got = SentenceReader(), []
    for b in stream:
        got += reader.feed(bytes((b,)))
    assert got == [["/login", "=name=admin"], [], ["/quit"]]


@settings(deadline=None)
@given(st.lists(words_st, min_size=1, max_size=3), st.data())
def test_truncated_stream_needs_more_bytes_then_fails_at_end(sentences, data):
    stream = b"".join(encode_sentence(s) for s in sentences)
    cut = data.draw(st.integers(0, len(stream) - 1))
    reader = SentenceReader()
    got = reader.feed(stream[:cut])
    assert len(got) < len(sentences)
    boundary = cut == len(b"".join(encode_sentence(s) for s in sentences[:len(got)]))
    if boundary:
        reader.finish()  # cut between sentences: nothing pending
    else:
        assert reader.pending > 0
        with pytest.raises(ProtocolViolation, match="stream ended inside a sentence"):
            reader.finish()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_garbage_never_hangs_and_never_buffers_more_than_it_was_given(chunks):
    reader, fed = SentenceReader(), 0
    try:
        for chunk in chunks:
            fed += len(chunk)
            for sentence in reader.feed(chunk):
                assert all(isinstance(w, str) for w in sentence)
            assert reader.pending <= fed
        reader.finish()
    except ProtocolViolation as exc:
        assert str(exc)  # a precise message, never empty


def test_claimed_length_over_the_word_cap_fails_before_any_data_arrives():
    reader = SentenceReader()
    with pytest.raises(ProtocolViolation, match="exceeds the 16777216-byte limit"):
        reader.feed(b"\xf0\xff\xff\xff\xff")  # claims 4 GiB; we hold 5 bytes
    with pytest.raises(ProtocolViolation):
        reader.feed(b"\x01a\x00")  # poisoned: no recoverable boundary after garbage


def test_word_exactly_at_a_small_cap_is_fine_and_one_more_is_not(monkeypatch):
    monkeypatch.setattr(codec, "MAX_WORD_BYTES", 100)
    assert SentenceReader().feed(encode_sentence([b"a" * 100])) == [["a" * 100]]
    with pytest.raises(ProtocolViolation, match="word length 101"):
        SentenceReader().feed(encode_length(101))


def test_sentence_word_count_cap():
    ok = encode_sentence(["w"] * codec.MAX_SENTENCE_WORDS)
    assert len(SentenceReader().feed(ok)[0]) == codec.MAX_SENTENCE_WORDS
    with pytest.raises(ProtocolViolation, match=f"more than {codec.MAX_SENTENCE_WORDS} words"):
        SentenceReader().feed(encode_sentence(["w"] * (codec.MAX_SENTENCE_WORDS + 1)))


def test_sentence_byte_cap(monkeypatch):
    monkeypatch.setattr(codec, "MAX_SENTENCE_BYTES", 10)
    assert SentenceReader().feed(encode_sentence(["12345", "12345"])) == [["12345", "12345"]]
    with pytest.raises(ProtocolViolation, match="exceeds the 10-byte limit"):
        SentenceReader().feed(encode_sentence(["12345", "123456"]))


def test_sentences_before_garbage_in_the_same_chunk_are_kept():
    reader = SentenceReader()
    got = reader.feed(encode_sentence(["/a"]) + encode_sentence(["/b"]) + b"\xf8junk")
    assert got == [["/a"], ["/b"]]
    assert isinstance(reader.broken, ProtocolViolation)
    with pytest.raises(ProtocolViolation):
        reader.feed(b"")
    with pytest.raises(ProtocolViolation):
        reader.finish()


def test_decode_sentence_wants_exactly_one():
    with pytest.raises(ProtocolViolation, match="exactly one"):
        decode_sentence(encode_sentence(["/a"]) * 2)
    with pytest.raises(ProtocolViolation, match="inside a sentence"):
        decode_sentence(encode_sentence(["/a"])[:-1])

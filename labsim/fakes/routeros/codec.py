"""RouterOS API framing: word lengths, words, sentences, and an incremental sentence reader.

A word is a length prefix plus that many bytes; a sentence is words ended by a zero-length word.
Length prefixes (big-endian, MikroTik "API" manual):

    len < 0x80         1 byte   len
    len < 0x4000       2 bytes  len | 0x8000
    len < 0x200000     3 bytes  len | 0xC00000
    len < 0x10000000   4 bytes  len | 0xE0000000
    otherwise          5 bytes  0xF0, then len as 4 bytes (so len <= 0xFFFFFFFF)

A first byte >= 0xF8 is a reserved control byte: the stream cannot be interpreted past it, so it is a
protocol violation. 0xF1..0xF7 are read as the 5-byte form (the manual reserves only >= 0xF8; the low
bits of the first byte carry no length there). librouteros itself only handles the 1-4 byte forms.

Text: the wire carries bytes, and RouterOS stores them as given. We decode with latin-1, which maps
every byte to one code point and back, so a value a client sends comes back byte for byte (a UTF-8
client gets its UTF-8 back; nothing is ever "replaced"). Replies are encoded with latin-1 too; only a
character above U+00FF (which no client can have sent, so only simulator-made text) falls back to
UTF-8 for that word. librouteros uses ASCII by default, so in practice everything is ASCII.

Caps, so hostile input can never make us allocate without bound (bytes are buffered only as they
arrive, never pre-allocated from a claimed length, and a claim over the cap fails at once):
    MAX_WORD_BYTES      16 MiB per word
    MAX_SENTENCE_WORDS  4096 words per sentence
    MAX_SENTENCE_BYTES  32 MiB of word content per sentence
"""
from __future__ import annotations

from collections.abc import Iterable

WIRE_ENCODING = "latin-1"

MAX_WORD_BYTES = 16 * 1024 * 1024
MAX_SENTENCE_WORDS = 4096
MAX_SENTENCE_BYTES = 32 * 1024 * 1024

MAX_LENGTH = 0xFFFFFFFF  # largest length the 5-byte form can carry


class ProtocolViolation(Exception):
    """The peer sent bytes that are not a valid RouterOS API stream (or exceed our caps)."""


# ---------------------------------------------------------------- lengths

def encode_length(length: int) -> bytes:
    """Encode a word length in the shortest form (all five forms)."""
    if length < 0:
        raise ValueError(f"negative word length {length}")
    if length < 0x80:
        return bytes((length,))
    if length < 0x4000:
        return (length | 0x8000).to_bytes(2, "big")
    if length < 0x200000:
        return (length | 0xC00000).to_bytes(3, "big")
    if length < 0x10000000:
        return (length | 0xE0000000).to_bytes(4, "big")
    if length <= MAX_LENGTH:
        return b"\xf0" + length.to_bytes(4, "big")
    raise ValueError(f"word length {length} does not fit the 5-byte form (max 0xFFFFFFFF)")


def prefix_size(first_byte: int) -> int:
    """How many bytes the length prefix starting with `first_byte` takes (1-5)."""
    if first_byte < 0x80:
        return 1
    if first_byte < 0xC0:
        return 2
    if first_byte < 0xE0:
        return 3
    if first_byte < 0xF0:
        return 4
    if first_byte < 0xF8:
        return 5
    raise ProtocolViolation(f"reserved control byte 0x{first_byte:02X} where a word length was expected")


def decode_length(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int] | None:
    """Decode the length prefix at `offset`.

    Returns (length, prefix_size), or None when `data` ends before the prefix does ("need more bytes").
    Raises ProtocolViolation on a reserved first byte.
    """
    if offset >= len(data):
        return None
    first = data[offset]
    size = prefix_size(first)
    if offset + size > len(data):
        return None
    if size == 1:
        return first, 1
    raw = int.from_bytes(bytes(data[offset:offset + size]), "big")
    if size == 2:
        return raw & 0x3FFF, 2
    if size == 3:
        return raw & 0x1FFFFF, 3
    if size == 4:
        return raw & 0x0FFFFFFF, 4
    return raw & 0xFFFFFFFF, 5  # drop the 0xF0..0xF7 byte


# ---------------------------------------------------------------- words and sentences

def word_bytes(word: str | bytes) -> bytes:
    """The content bytes of a word (see the module note on text)."""
    if isinstance(word, (bytes, bytearray, memoryview)):
        return bytes(word)
    try:
        return word.encode(WIRE_ENCODING)
    except UnicodeEncodeError:
        return word.encode("utf-8")


def encode_word(word: str | bytes) -> bytes:
    data = word_bytes(word)
    return encode_length(len(data)) + data


def encode_sentence(words: Iterable[str | bytes]) -> bytes:
    """Encode words plus the terminating zero-length word."""
    return b"".join(encode_word(w) for w in words) + b"\x00"


def decode_word(data: bytes | bytearray) -> str:
    return bytes(data).decode(WIRE_ENCODING)


def decode_sentence(data: bytes) -> list[str]:
    """Decode exactly one complete sentence; truncated or trailing bytes are a ProtocolViolation."""
    reader = SentenceReader()
    sentences = reader.feed(data)
    reader.finish()
    if len(sentences) != 1:
        raise ProtocolViolation(f"expected exactly one sentence, got {len(sentences)}")
    return sentences[0]


# ---------------------------------------------------------------- incremental reader

class SentenceReader:
    """Feed it bytes as they arrive; it returns every sentence completed so far.

    Empty sentences (a lone zero-length word) are returned as []; the server ignores them, as
    RouterOS does. After a ProtocolViolation the reader is poisoned: the stream has no recoverable
    boundary, so every later feed raises too. Sentences that ended before the bad bytes in the same
    feed are still returned; `broken` then holds the violation.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._words: list[str] = []
        self._sentence_bytes = 0
        self._need = 1  # do not try to parse until the buffer holds at least this many bytes
        self._broken: ProtocolViolation | None = None

    @property
    def pending(self) -> int:
        """Non-zero while a sentence is unfinished (0 means at a sentence boundary). Never more than the
        bytes fed since that boundary: it counts buffered bytes plus each complete word's content + 1."""
        return len(self._buf) + self._sentence_bytes + len(self._words)

    def feed(self, data: bytes) -> list[list[str]]:
        if self._broken is not None:
            raise self._broken
        self._buf += data
        done: list[list[str]] = []
        try:
            while len(self._buf) >= self._need:
                decoded = decode_length(self._buf)
                if decoded is None:
                    self._need = prefix_size(self._buf[0])
                    break
                length, size = decoded
                if length == 0:
                    del self._buf[:size]
                    done.append(self._words)
                    self._words, self._sentence_bytes = [], 0
                    self._need = 1
                    continue
                self._check_caps(length)
                if len(self._buf) < size + length:
                    self._need = size + length
                    break
                self._words.append(decode_word(self._buf[size:size + length]))
                self._sentence_bytes += length
                del self._buf[:size + length]
                self._need = 1
        except ProtocolViolation as exc:
            self._broken = exc
            self._buf.clear()
            if not done:
                raise
            # Hand back the sentences that ended before the bad bytes; `broken` (and the next
            # feed / finish) reports the violation.
        return done

    @property
    def broken(self) -> ProtocolViolation | None:
        """The violation that poisoned this reader, if any."""
        return self._broken

    def _check_caps(self, length: int) -> None:
        if length > MAX_WORD_BYTES:
            raise ProtocolViolation(f"word length {length} exceeds the {MAX_WORD_BYTES}-byte limit")
        if len(self._words) >= MAX_SENTENCE_WORDS:
            raise ProtocolViolation(f"sentence has more than {MAX_SENTENCE_WORDS} words")
        if self._sentence_bytes + length > MAX_SENTENCE_BYTES:
            raise ProtocolViolation(f"sentence exceeds the {MAX_SENTENCE_BYTES}-byte limit")

    def finish(self) -> None:
        """Call at end of stream: raises ProtocolViolation if a sentence was cut off."""
        if self._broken is not None:
            raise self._broken
        if self.pending:
            raise ProtocolViolation(
                f"stream ended inside a sentence ({len(self._words)} complete words, "
                f"{len(self._buf)} bytes of an unfinished word)"
            )

"""Caption files (``.vtt``, ``.srt``): cues into speaker turns, for :func:`coder.transcripts.read_file`.

Speakers come from Teams' voice tags (``<v Jane Smith (Interviewer)>``, a role beside the name
counts) or a ``Name:`` prefix inside a cue (Zoom); consecutive cues of one speaker are one turn, its
times kept. The document text is rebuilt as one ``Speaker: words`` line per turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from coder.errors import InputError
from coder.transcripts import (
    ReadOptions,
    clock_seconds,
    compile_speaker_pattern,
    finish_transcript,
    header_metadata,
    split_role,
)
from coder.types import Transcript, Turn

_TS = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TS}\s*-->\s*{_TS}")
TIMING_LINE = _TIMING
"""A cue's timing line (``00:00:01,000 --> 00:00:04,000``), for whatever else reads caption files."""
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]+>")


@dataclass
class _Cue:
    line: int
    start: float
    end: float
    speaker: str | None
    text: str
    said: str | None = None  # a role written beside the speaker's name


def _build_from_cues(
    cues: list[_Cue],
    *,
    name: str,
    fmt: str,
    source: str,
    data: bytes,
    meta: dict[str, str],
    options: ReadOptions,
) -> Transcript:
    """Merge consecutive cues of one speaker into turns and write them as ``Speaker: text`` lines.

    A role written with the name (``<v Jane Smith (Interviewer)>``, ``Jane Smith - Interviewer: …``) sets
    the turn's role and is left out of the speaker's name.
    """
    if not cues:
        raise InputError("no caption cues found", path=source or name, hint="check that it is a subtitle file")
    merged: list[list[_Cue]] = []
    speaker: str | None = None
    for cue in cues:
        if cue.speaker is None:
            cue.speaker, cue.said = speaker, merged[-1][0].said if merged else None
        else:
            cue.speaker, cue.said = split_role(cue.speaker)
        if cue.speaker is None:
            hint = "mark speakers with <v Name> tags or a 'Name:' prefix"
            raise InputError("caption has no speaker", path=source or name, line=cue.line, hint=hint)
        if merged and merged[-1][0].speaker == cue.speaker:
            merged[-1].append(cue)
        else:
            merged.append([cue])
        speaker = cue.speaker
    parts: list[str] = []
    turns: list[Turn] = []
    pos = 0
    for i, group in enumerate(merged):
        spk = group[0].speaker or ""
        words = " ".join(c.text for c in group if c.text)
        line = f"{spk}: {words}"
        role = options.role(spk, next((c.said for c in group if c.said), None))
        turns.append(Turn(i, spk, role, pos, pos + len(line), pos + len(spk) + 2, group[0].start, group[-1].end))
        parts.append(line)
        pos += len(line) + 1
    text = "\n".join(parts) + "\n"
    return finish_transcript(text, turns, name=name, fmt=fmt, source=source, data=data, meta=meta, options=options)


def _cue_text(lines: list[str], rx: re.Pattern[str]) -> tuple[str | None, str]:
    raw = " ".join(s.strip() for s in lines if s.strip())
    m = _VOICE.search(raw)
    speaker = m.group(1).strip() if m else None
    words = _TAG.sub("", raw).strip()
    if speaker is None:
        lm = rx.match(words)
        if lm:
            speaker = lm.group("speaker").strip()
            words = words[lm.end() :].strip()
    return speaker, re.sub(r"\s+", " ", words)


def parse_vtt(
    text: str, *, name: str, source: str = "", data: bytes = b"", options: ReadOptions | None = None
) -> Transcript:
    """Read WebVTT captions; speakers from ``<v Name>`` tags or ``Name:`` prefixes; NOTE blocks as header."""
    if not text.split("\n", 1)[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise InputError(
            "not a WebVTT file (first line is not 'WEBVTT')",
            path=source or name,
            line=1,
            hint="check the file, or rename it to .srt or .txt if that is what it is",
        )
    return _parse_captions(text, fmt="vtt", name=name, source=source, data=data, options=options)


def parse_srt(
    text: str, *, name: str, source: str = "", data: bytes = b"", options: ReadOptions | None = None
) -> Transcript:
    """Read SubRip captions; speakers from ``Name:`` prefixes (or ``<v Name>``)."""
    return _parse_captions(text, fmt="srt", name=name, source=source, data=data, options=options)


# What a caption format calls a block, its cues, and the separator before milliseconds (for messages).
_CAPTION_WORDS = {"vtt": ("caption", "cue", "."), "srt": ("subtitle", "block", ",")}


def _parse_captions(
    text: str, *, fmt: str, name: str, source: str, data: bytes, options: ReadOptions | None
) -> Transcript:
    """Cues of a WebVTT or SubRip file; in WebVTT, header/STYLE/REGION blocks are skipped and NOTEs are metadata."""
    options = options or ReadOptions()
    rx = compile_speaker_pattern(options.speaker_pattern, source or name)
    kind, unit, sep = _CAPTION_WORDS[fmt]
    cues: list[_Cue] = []
    meta_lines: list[str] = []
    for start_line, block in _blocks(text.split("\n")):
        head = block[0].strip()
        if fmt == "vtt" and head.startswith(("WEBVTT", "STYLE", "REGION")):
            continue
        if fmt == "vtt" and head.startswith("NOTE"):
            meta_lines.extend([head[4:], *block[1:]])
            continue
        timing_at = next((i for i, s in enumerate(block[:2]) if "-->" in s), None)
        if timing_at is None:
            raise InputError(
                f"{kind} block without a timing line",
                path=source or name,
                line=start_line,
                hint=f"each {unit} needs a line like '00:00:01{sep}000 --> 00:00:04{sep}000'",
            )
        m = _TIMING.match(block[timing_at])
        if not m:
            raise InputError(
                f"bad {kind} timing",
                path=source or name,
                line=start_line + timing_at,
                hint=f"use HH:MM:SS{sep}mmm --> HH:MM:SS{sep}mmm",
            )
        g = m.groups()
        spk, words = _cue_text(block[timing_at + 1 :], rx)
        cues.append(_Cue(start_line, clock_seconds(*g[:4]), clock_seconds(*g[4:]), spk, words))
    meta = header_metadata(meta_lines)
    return _build_from_cues(
        cues, name=name, fmt=fmt, source=source, data=data or text.encode(), meta=meta, options=options
    )


def _blocks(lines: list[str]) -> Iterable[tuple[int, list[str]]]:
    """Blank-line separated blocks with their 1-based first line number."""
    block: list[str] = []
    first = 0
    for i, line in enumerate(lines, start=1):
        if line.strip():
            if not block:
                first = i
            block.append(line)
        elif block:
            yield first, block
            block = []
    if block:
        yield first, block

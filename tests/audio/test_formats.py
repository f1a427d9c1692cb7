"""The one format list: what the decoder sniffs, the library stores and the previews gate accepts agree."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from musim.audio.formats import FORMATS, PYAV_CONTAINERS, PYAV_FORMATS, SNIFFED
from musim.audio.io import sniff_format
from musim.quality.suites import audio as previews_suite


def _encoded(fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    x = (0.3 * np.sin(np.arange(48000) / 10)).astype("float32")
    sf.write(buf, x, 48000, format=fmt, subtype=subtype)
    return buf.getvalue()


def test_every_sniffed_container_is_a_known_format():
    assert set(SNIFFED.values()) <= set(FORMATS)
    assert PYAV_FORMATS <= set(FORMATS)
    assert PYAV_CONTAINERS == {"mp4", "aac"}
    for data, name in ((_encoded("WAV"), "wav"), (_encoded("FLAC"), "flac"), (_encoded("AIFF"), "aiff"),
                       (_encoded("OGG", "OPUS"), "ogg"), (_encoded("W64"), "w64"), (_encoded("CAF"), "caf"),
                       (_encoded("CAF", "ALAC_16"), "caf")):
        assert SNIFFED[sniff_format(data[:12])] == name


def test_the_previews_gate_reads_the_one_list():
    rows = previews_suite.rows(None)
    (in_set,) = [e for e in rows if getattr(e, "column", None) == "format"]
    assert set(in_set.value_set) == set(FORMATS)

"""Makes the non-speech example audio shipped in assets/ (made by this project, CC0).

The speech files (``hello.wav``, ``weather.wav``) come from espeak-ng (see README.md); this script derives
``noisy_hello.wav`` from ``hello.wav`` and synthesises ``chime.wav``, with numpy and the standard library.
"""

import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
RATE = 16_000


def _write(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def chime() -> np.ndarray:
    """Three bell-like notes (C5, E5, G5), each fading out: 1.5 seconds."""
    t = np.arange(int(0.5 * RATE)) / RATE
    notes = [np.sin(2 * np.pi * f * t) * np.exp(-4 * t) for f in (523.25, 659.25, 783.99)]
    return 0.6 * np.concatenate(notes)


def noisy(path: Path, seed: int = 0) -> tuple[np.ndarray, int]:
    """The speech of ``path`` with white noise added at about 10 dB SNR (for speech enhancement)."""
    with wave.open(str(path)) as src:
        rate, raw = src.getframerate(), src.readframes(src.getnframes())
    speech = np.frombuffer(raw, "<i2").astype("float32") / 32767
    noise = np.random.default_rng(seed).normal(0, 1, speech.size).astype("float32")
    noise *= np.sqrt(np.mean(speech**2) / 10) / max(np.std(noise), 1e-9)
    return speech + noise, rate


if __name__ == "__main__":
    _write(HERE / "chime.wav", chime())
    samples, rate = noisy(HERE / "hello.wav")
    _write(HERE / "noisy_hello.wav", samples, rate)

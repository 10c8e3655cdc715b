"""Regenerate car-turn-24f.mp4: the first 24 frames of the DAVIS clip car-turn.mp4 at 320x180.

Source: train/videos/car-turn.mp4 of the development data root (sepconv-slomo repository, from
the DAVIS challenge). H.264 video plus a one-second AAC tone, so that tests of audio passthrough
can use it. Run with the data root in KERAS_FI_DATA (see CONTRIBUTING.md):
KERAS_FI_DATA=DIR python tests/data/video/make_clip.py
"""

import os
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SOURCE_IN_DATA_ROOT = Path("train/videos/car-turn.mp4")
TARGET = Path(__file__).with_name("car-turn-24f.mp4")
NUM_FRAMES, WIDTH, HEIGHT, FPS = 24, 320, 180, 25
SAMPLE_RATE = 44100


def main() -> None:
    root = os.environ.get("KERAS_FI_DATA")
    if not root:
        sys.exit("make_clip.py: error: set KERAS_FI_DATA to the data root holding train/videos")
    source_path = Path(root) / SOURCE_IN_DATA_ROOT
    with av.open(str(source_path)) as source, av.open(str(TARGET), "w") as target:
        video = target.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"crf": "20", "preset": "slow", "g": "12"}
        audio = target.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "mono"
        for index, frame in enumerate(source.decode(video=0)):
            if index == NUM_FRAMES:
                break
            image = frame.to_image().resize((WIDTH, HEIGHT), resample=3)  # 3: bicubic
            out = av.VideoFrame.from_image(image)
            out.pts, out.time_base = index, Fraction(1, FPS)
            for packet in video.encode(out):
                target.mux(packet)
        for packet in video.encode():
            target.mux(packet)
        # Audio: a 440 Hz tone as long as the video (24 / 25 s), in 1024-sample frames.
        total = SAMPLE_RATE * NUM_FRAMES // FPS
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(total) / SAMPLE_RATE)).astype(np.float32)
        for start in range(0, total, 1024):
            chunk = tone[start : start + 1024][None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, start
            for packet in audio.encode(frame):
                target.mux(packet)
        for packet in audio.encode():
            target.mux(packet)


if __name__ == "__main__":
    main()

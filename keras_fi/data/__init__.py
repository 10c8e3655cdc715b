"""tf.data pipelines of interpolation triplets for `model.fit` on any backend.

Every loader returns a `tf.data.Dataset` of `(inputs, target)` with
`inputs = {"frame0", "frame1", "time"}`: frames float32 in [0, 1] of shape
(batch, crop, crop, 3) and `time` float32 (batch,), the target's position between the frames.

- `video_triplets`: any video files and folders of numbered frames.
- `davis`: DAVIS 2017 (extracted layout or TFDS).
- `vimeo90k`: Vimeo-90K triplets/septuplets.
- `synthetic_motion`: natural images under known affine motions with moving layers.
- `natural_images`: still frames from videos/folders, for `synthetic_motion(images=...)`.
- `mix`: random interleaving of several of these.
"""

from keras_fi.data.augment import TripletOptions
from keras_fi.data.davis import davis
from keras_fi.data.mix import mix
from keras_fi.data.synthetic_motion import MotionOptions, natural_images, synthetic_motion
from keras_fi.data.video_triplets import video_triplets
from keras_fi.data.vimeo90k import vimeo90k

__all__ = [
    "MotionOptions",
    "TripletOptions",
    "davis",
    "mix",
    "natural_images",
    "synthetic_motion",
    "video_triplets",
    "vimeo90k",
]

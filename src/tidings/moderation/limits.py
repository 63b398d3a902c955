"""Named limits and thresholds of the moderation engine.

Every number that decides whether two things "match", or how much input the
engine accepts, lives here so that reviews and transparency reports can cite
one place. (DESIGN.md puts protocol limits in ``protocol/limits.py``; these are
engine-internal matching thresholds, kept beside the engine that owns them.)
"""

from typing import Final

# --- PDQ -------------------------------------------------------------------
#: Hamming distance at or below which two PDQ hashes are the same picture.
#: 31/256 is Meta's published "confident match" threshold (PDQ paper, sec. 5).
PDQ_DEFAULT_THRESHOLD: Final = 31
#: Largest threshold a bank may configure; above ~70 bits random hashes start
#: to collide (the expected distance of unrelated hashes is 128).
PDQ_MAX_THRESHOLD: Final = 70
#: Hashes of images with PDQ quality below this are too flat to be trusted
#: (same value as pytx's PdqSignal.QUALITY_THRESHOLD).
PDQ_MIN_QUALITY: Final = 50
PDQ_BITS: Final = 256
PDQ_BYTES: Final = PDQ_BITS // 8
#: Decoded images above this many pixels are refused (decompression bombs).
MAX_IMAGE_PIXELS: Final = 64_000_000
#: Pictures are reduced (by an integer box filter) to at most about this many pixels
#: a side before PDQ at upload: PDQ's own filter runs over every pixel, so a 1-Mpx
#: photo costs ~4x a 512-px one for a hash a few bits away (Meta's reference hasher
#: downsamples to 512 the same way).
PDQ_HASH_MAX_SIDE: Final = 512
#: Bank-side augmentation: centre crops (fraction removed per side) hashed in
#: addition to the original, because PDQ alone does not survive small crops.
PDQ_AUGMENT_CROP_FRACTIONS: Final = (0.02, 0.04, 0.05, 0.06)
#: Query variants other than the dihedral hashes (trimmed content, caption cuts) are
#: hashed from a copy at most this many pixels a side (pdq_variants.py): ~8x cheaper
#: than at PDQ_HASH_MAX_SIDE. Bank-side variants use the same size.
PDQ_VARIANT_SIDE: Final = 256
#: Both sides also hash a 64-px copy (query side: its 8 dihedral forms): PDQ's own
#: 64x64 grid then is the pixel grid, so mirrors and rotations of textures match.
PDQ_TINY_SIDE: Final = 64
#: Border trimming: a row or column is border when at least this share of its pixels
#: is within PDQ_TRIM_TOLERANCE (per channel, 0-255) of the edge's median colour;
#: the tolerance admits noisy, JPEG-re-encoded borders.
PDQ_TRIM_TOLERANCE: Final = 24
PDQ_TRIM_ROW_SHARE: Final = 0.97
#: A trimmed region smaller than this share of either side is not hashed (a picture
#: mostly made of a plain colour is not "content with a border").
PDQ_TRIM_MIN_KEEP: Final = 0.3
#: Strict trim (pdq_variants.strict_box): a border line's mean colour stays within
#: this many levels of the edge line's.
PDQ_TRIM_STRICT_MEAN: Final = 4
#: At most this many trim candidates are hashed on the query side.
PDQ_TRIM_CANDIDATES: Final = 3
#: Corner masks (both sides): share of the width and of the height of each corner
#: filled, and the size the masked copies are hashed at.
PDQ_CORNER_MASK: Final = (0.2, 0.12)
PDQ_MASK_SIDE: Final = 64
#: A caption bar is looked for in at most this share of the height, at top and bottom.
PDQ_CAPTION_MAX_SHARE: Final = 0.4
#: Bank-side one-side crops: fraction of the width removed from the left, and from
#: the right.
PDQ_ONE_SIDE_CROPS: Final = (0.03, 0.06, 0.1)

# --- text ------------------------------------------------------------------
MAX_TEXT_CHARS: Final = 100_000
#: Character shingle length of the near-duplicate signature.
TEXT_NEAR_SHINGLE: Final = 5
#: MinHash permutations; the signature is this many 32-bit minima.
TEXT_NEAR_PERMUTATIONS: Final = 64
#: LSH bands x rows must equal the permutation count.
TEXT_NEAR_BANDS: Final = 16
TEXT_NEAR_ROWS: Final = 4
#: Default distance threshold: number of differing MinHash slots out of 64.
#: 24/64 differing = estimated Jaccard >= 0.625 on 5-char shingles (a post
#: with a sentence of ~20% removed still matches; unrelated texts sit at 50+).
TEXT_NEAR_DEFAULT_THRESHOLD: Final = 24
#: Normalised texts shorter than this get no near-duplicate signal: short
#: strings share most shingles with too many innocent strings.
TEXT_NEAR_MIN_CHARS: Final = 40
#: Candidate cap per near-duplicate query so one query cannot scan a bank.
TEXT_NEAR_MAX_CANDIDATES: Final = 10_000
#: Partial quotes (``text_quote``): character shingles of the compact form
#: (letters and digits only, so 12 characters are two to three words). Long
#: enough that unrelated texts share almost none (measured by
#: benchmarks/text_matching.py), short enough that an edit every few words
#: leaves most shingles intact.
TEXT_QUOTE_SHINGLE: Final = 12
#: Banked texts shorter than this (compact characters) get no quote signature:
#: quoting part of a slogan is quoting a slogan (see TEXT_SLOGAN_*).
TEXT_QUOTE_MIN_CHARS: Final = 60
#: Distance = 64 - (sampled banked shingles found in the post). 40 means 24
#: hits, an estimated 37.5 % of the banked text: a 60 % quote scores a median
#: distance of 27 and a 99th percentile of 38 on real paragraphs (the estimate
#: has sd ~6 % and the quote loses 11 shingles at each cut). 42 matched two
#: templated messages sharing 42 % of their text at distance 41
#: (benchmarks/text_matching.py measures recall and false matches).
TEXT_QUOTE_DEFAULT_THRESHOLD: Final = 40
#: Loosest a bank may set (16 hits, 25 % of the banked text).
TEXT_QUOTE_MAX_THRESHOLD: Final = 48
#: Short banked texts (slogans) match inside longer posts only when the entry
#: opts in, and only from this many compact characters ("allahuakbar", 11,
#: can never be one).
TEXT_SLOGAN_MIN_CHARS: Final = 12
#: Longest slogan entry, in characters of its normalised text.
TEXT_SLOGAN_MAX_CHARS: Final = 280

# --- URLs ------------------------------------------------------------------
MAX_URL_CHARS: Final = 4_096
MAX_URLS_PER_TEXT: Final = 50

# --- media -----------------------------------------------------------------
MAX_MEDIA_BYTES: Final = 100 * 1024 * 1024

# --- import / export -------------------------------------------------------
MAX_IMPORT_BYTES: Final = 256 * 1024 * 1024
MAX_IMPORT_LINES: Final = 5_000_000
MAX_LINE_CHARS: Final = 8_192
MAX_LABELS_PER_ENTRY: Final = 32
MAX_SOURCE_CHARS: Final = 256
#: Exchange fetch: stop after this many batches even if the API keeps going.
MAX_FETCH_BATCHES: Final = 100_000

# --- banks -----------------------------------------------------------------
BANK_NAME_PATTERN: Final = r"[A-Z][A-Z0-9_]{2,63}"

# --- video (vPDQ) ----------------------------------------------------------
# Matching constants are those of python-threatexchange's vpdq extension
# (extensions/vpdq/vpdq_util.py), so a hash list shared with pytx users means
# the same thing here.
#: One PDQ hash per this many seconds of video (vpdq's default).
VPDQ_SECONDS_PER_HASH: Final = 1.0
#: Frames of lower PDQ quality take no part in matching (VPDQ_QUALITY_THRESHOLD).
VPDQ_QUALITY_THRESHOLD: Final = 50
#: Two frames match at or below this Hamming distance (VPDQ_DISTANCE_THRESHOLD).
VPDQ_DISTANCE_THRESHOLD: Final = 31
#: A video matches a banked one when at least this percentage of the query's
#: usable frames is within the distance of some banked frame ...
VPDQ_QUERY_MATCH_PERCENT: Final = 80
#: ... and at least this percentage of the banked video's frames is matched
#: (pytx's VPDQ_INDEX_MATCH_THRESHOLD_PERCENT: 0, i.e. any).
VPDQ_COMPARED_MATCH_PERCENT: Final = 0
#: vpdq "distance" is the percentage of the query's usable frames left
#: unmatched (0-100), so the default threshold is 100 - 80 = 20 ...
VPDQ_DEFAULT_THRESHOLD: Final = 100 - VPDQ_QUERY_MATCH_PERCENT
#: ... and a bank may loosen it to at most half the frames unmatched.
VPDQ_MAX_THRESHOLD: Final = 50
#: Features (frames) in one vpdq signal: 20 minutes at one hash a second.
#: Bounds the bank entry a partner list or an import can make us index, and
#: keeps a signal under Python's csv field limit (131,072) for CSV backups.
VPDQ_MAX_FEATURES: Final = 1_200
#: Longest vpdq value (a feature is ~80 characters); import lines and CSV
#: fields of vpdq entries may be this long instead of MAX_LINE_CHARS.
VPDQ_MAX_SIGNAL_CHARS: Final = VPDQ_MAX_FEATURES * 96
#: Consecutive video frames within this distance of the last frame queried
#: against the photo bank are not queried again (a still shot is one query).
VIDEO_FRAME_DEDUPE_DISTANCE: Final = 8
#: The publish gate's (fast) vPDQ hashes frames scaled by FFmpeg to at most this
#: many pixels a side (PDQ_HASH_MAX_SIDE, as photos): PDQ's cost grows with the
#: pixels it is given, its hash is taken at 64x64 whatever the input.
VPDQ_FAST_SIDE: Final = PDQ_HASH_MAX_SIDE
#: A video's bars are looked for (pdq_variants.content_box) on this many of its
#: hashed frames, spread over it (moderation/vpdq_frames.py).
VPDQ_TRIM_SAMPLES: Final = 9

# Decode cost of one video. A 60-second 720p30 H.264 clip is ~1.7 G decoded
# pixels and must be decided within 5 s on two cores (docs/benchmarks.md);
# these bound a hostile upload to a few times that.
#: Longest video accepted, by its timestamps and by its frame count.
VIDEO_MAX_DURATION_S: Final = 300
#: Largest frame (4K UHD).
VIDEO_MAX_FRAME_PIXELS: Final = 3840 * 2160
#: Decoded pixels over the whole video: five minutes of 720p30.
VIDEO_MAX_DECODED_PIXELS: Final = 1280 * 720 * 30 * 300
#: Decoded frames over the whole video (five minutes at 60 fps).
VIDEO_MAX_FRAMES: Final = 300 * 60
#: Frame rates outside this range are clamped when choosing the frames to
#: hash, so a lying header can neither skip frames nor make us hash them all.
VIDEO_MIN_FPS: Final = 1
VIDEO_MAX_FPS: Final = 120
#: Video codecs decoded; anything else is refused before a packet is decoded.
VIDEO_CODECS: Final = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})

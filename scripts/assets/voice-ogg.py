# Makes voice.ogg: about 3 s of voice-like babble (a glottal pulse train
# through vowel formants, syllables with a pitch contour, short pauses),
# 48 kHz mono, Opus 20 ms frames at 32 kb/s, one packet per Ogg page.
import ctypes, math, random, struct
random.seed(20)
R = 48000
lib = ctypes.CDLL('libopus.so.0')
err = ctypes.c_int()
lib.opus_encoder_create.restype = ctypes.c_void_p
enc = lib.opus_encoder_create(R, 1, 2048, ctypes.byref(err))  # OPUS_APPLICATION_VOIP
assert err.value == 0
lib.opus_encoder_ctl(ctypes.c_void_p(enc), 4002, ctypes.c_int(32000))  # OPUS_SET_BITRATE

VOWELS = [(730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240), (660, 1720, 2410)]
def resonator(f, bw):
    r = math.exp(-math.pi * bw / R); c = 2 * r * math.cos(2 * math.pi * f / R)
    return c, -r * r
samples = []
t = 0
while len(samples) < 3 * R:
    word = random.randint(2, 4)
    for s in range(word):
        dur = random.uniform(0.14, 0.26); n = int(dur * R)
        f0a, f0b = random.uniform(115, 160), random.uniform(100, 150)
        v = random.choice(VOWELS)
        res = [resonator(f, 80 + 40 * i) for i, f in enumerate(v)]
        st = [[0.0, 0.0] for _ in res]
        phase = 0.0
        for k in range(n):
            x = k / n
            f0 = f0a + (f0b - f0a) * x
            phase += f0 / R
            src = 1.0 if phase >= 1.0 else 0.0
            if phase >= 1.0: phase -= 1.0
            src += random.uniform(-0.02, 0.02)
            out = 0.0
            for i, (c1, c2) in enumerate(res):
                y = src + c1 * st[i][0] + c2 * st[i][1]
                st[i][1], st[i][0] = st[i][0], y
                out += y * (1.0, 0.6, 0.3)[i]
            env = math.sin(math.pi * x) ** 0.6
            samples.append(out * env)
        samples.extend([0.0] * int(random.uniform(0.02, 0.05) * R))
    samples.extend([0.0] * int(random.uniform(0.12, 0.25) * R))
samples = samples[: 3 * R]
peak = max(abs(s) for s in samples)
pcm = [int(s / peak * 0.5 * 32767) for s in samples]

def crc_table():
    t = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        t.append(r & 0xFFFFFFFF)
    return t
T = crc_table()
def crc(b):
    c = 0
    for x in b: c = ((c << 8) ^ T[((c >> 24) ^ x) & 0xFF]) & 0xFFFFFFFF
    return c
serial = 0x4c4b4d56
def page(data, granule, seq, flags):
    segs = []
    n = len(data)
    while n >= 255: segs.append(255); n -= 255
    segs.append(n)
    hdr = b'OggS' + struct.pack('<BBqIII', 0, flags, granule, serial, seq, 0) + bytes([len(segs)]) + bytes(segs)
    p = bytearray(hdr + data)
    struct.pack_into('<I', p, 22, crc(p))
    return bytes(p)
out = bytearray()
head = b'OpusHead' + struct.pack('<BBHIhB', 1, 1, 312, R, 0, 0)
out += page(head, 0, 0, 2)
tags = b'OpusTags' + struct.pack('<I', 12) + b'livekit-mock' + struct.pack('<I', 0)
out += page(tags, 0, 1, 0)
buf = (ctypes.c_ubyte * 1500)()
frames = len(pcm) // 960
granule = 312
for i in range(frames):
    chunk = (ctypes.c_short * 960)(*pcm[i * 960:(i + 1) * 960])
    n = lib.opus_encode(ctypes.c_void_p(enc), chunk, 960, buf, 1500)
    assert n > 0, n
    granule += 960
    out += page(bytes(buf[:n]), granule, i + 2, 4 if i == frames - 1 else 0)
open('voice.ogg', 'wb').write(out)
print(len(out), frames)

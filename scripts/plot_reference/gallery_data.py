"""gallery_data.py - the data of examples/plot_gallery_data.lua, bit for bit
(same 64-bit LCG, same Box-Muller through libm), for the matplotlib side."""
import math
import numpy as np

MUL, INC, MASK = 6364136223846793005, 1442695040888963407, (1 << 64) - 1


class Rng:
    def __init__(self, seed):
        self.s = seed

    def uniform(self):
        self.s = (self.s * MUL + INC) & MASK
        return ((self.s >> 11) + 0.5) / 9007199254740992.0

    def normal(self):
        u1, u2 = self.uniform(), self.uniform()
        return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


def clusters(n, seed=1):
    g = Rng(seed)
    x, y, lab, score = [], [], [], []
    for i in range(1, n + 1):
        c = (i - 1) % 10
        a = 2 * math.pi * c / 10
        x.append(30 * math.cos(a) + 6 * g.normal())
        y.append(30 * math.sin(a) + 6 * g.normal())
        lab.append(c)
        score.append(0.45 + 0.12 * g.normal() + 0.01 * c)
    return np.array(x), np.array(y), np.array(lab), np.array(score)


def masks(score, seed=7):
    g = Rng(seed)
    sage, rnd, gm = [], [], []
    for i, s in enumerate(score, start=1):
        sage.append(s > 0.62)
        rnd.append(g.uniform() < 0.05)
        gm.append(s > 0.55 and i % 3 == 0)
    return {"SAGE": np.array(sage), "GradMatch": np.array(gm), "Random": np.array(rnd)}


def sphere_points(n, seed=3):
    g = Rng(seed)
    out = []
    for i in range(n):
        a, b, c = g.normal(), g.normal() * 0.8, g.normal() * 0.6
        r = math.sqrt(a * a + b * b + c * c)
        out.append((a / r, b / r, c / r))
    p = np.array(out)
    return p[:, 0], p[:, 1], p[:, 2]


def images(n=24):
    t = np.zeros((n, 3, 28, 28))
    for k in range(1, n + 1):
        for c in range(1, 4):
            for i in range(1, 29):
                for j in range(1, 29):
                    r = math.sqrt((i - 14.5) ** 2 + (j - 14.5) ** 2)
                    v = 0.5 + 0.5 * math.sin(r * (0.3 + 0.05 * (k % 5)) + c + k)
                    if (k % 3) == c - 1:
                        v = v * (j / 28)
                    t[k - 1, c - 1, i - 1, j - 1] = v
    return t

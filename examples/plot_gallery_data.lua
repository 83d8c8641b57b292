-- plot_gallery_data.lua: deterministic data for the plot gallery, generated
-- identically by scripts/plot_reference/gallery_data.py (a 64-bit LCG and
-- Box-Muller through libm), so lunette and matplotlib draw the same points.
local lt = require "lunette"

local D = {}

local MUL, INC = 6364136223846793005, 1442695040888963407

-- A generator: g:uniform() in [0, 1), g:normal().
function D.rng(seed)
  local g = { s = seed }
  function g:uniform()
    self.s = self.s * MUL + INC
    return ((self.s >> 11) + 0.5) / 9007199254740992.0
  end
  function g:normal()
    local u1, u2 = self:uniform(), self:uniform()
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
  end
  return g
end

-- n points in 10 clusters on a ring (t-SNE-like); returns x, y, labels (0-based), scores.
function D.clusters(n, seed)
  local g = D.rng(seed or 1)
  local x, y, lab, score = {}, {}, {}, {}
  for i = 1, n do
    local c = (i - 1) % 10
    local a = 2 * math.pi * c / 10
    x[i] = 30 * math.cos(a) + 6 * g:normal()
    y[i] = 30 * math.sin(a) + 6 * g:normal()
    lab[i] = c
    score[i] = 0.45 + 0.12 * g:normal() + 0.01 * c
  end
  return lt.tensor(x, "float64"), lt.tensor(y, "float64"), lt.tensor(lab, "int64"), lt.tensor(score, "float64")
end

-- Selection masks (booleans as a Lua table): every k-th point of each class
-- with a score above t ("sage"), a pseudo-random 5% ("random"), high scores ("gradmatch").
function D.masks(score, seed)
  local g = D.rng(seed or 7)
  local s = score:totable()
  local sage, rnd, gm = {}, {}, {}
  for i = 1, #s do
    sage[i] = s[i] > 0.62
    rnd[i] = g:uniform() < 0.05
    gm[i] = (s[i] > 0.55 and (i % 3 == 0))
  end
  return { SAGE = sage, GradMatch = gm, Random = rnd }
end

-- Splits x by a boolean table into (kept, discarded) tensors.
function D.split(x, mask)
  local t = x:totable()
  local a, b = {}, {}
  for i = 1, #t do if mask[i] then a[#a + 1] = t[i] else b[#b + 1] = t[i] end end
  return lt.tensor(a, "float64"), lt.tensor(b, "float64")
end

-- n unit vectors in 3-D (normalised Gaussians), as x, y, z tensors.
function D.sphere_points(n, seed)
  local g = D.rng(seed or 3)
  local x, y, z = {}, {}, {}
  for i = 1, n do
    local a, b, c = g:normal(), g:normal() * 0.8, g:normal() * 0.6
    local r = math.sqrt(a * a + b * b + c * c)
    x[i], y[i], z[i] = a / r, b / r, c / r
  end
  return lt.tensor(x, "float64"), lt.tensor(y, "float64"), lt.tensor(z, "float64")
end

-- 24 small images [24 x 3 x 28 x 28] in [0, 1]: rings and stripes per class.
function D.images(n)
  n = n or 24
  local t = {}
  for k = 1, n do
    local img = {}
    for c = 1, 3 do
      local plane = {}
      for i = 1, 28 do
        local row = {}
        for j = 1, 28 do
          local r = math.sqrt((i - 14.5) ^ 2 + (j - 14.5) ^ 2)
          local v = 0.5 + 0.5 * math.sin(r * (0.3 + 0.05 * (k % 5)) + c + k)
          if (k % 3) == c - 1 then v = v * (j / 28) end
          row[j] = v
        end
        plane[i] = row
      end
      img[c] = plane
    end
    t[k] = img
  end
  return lt.tensor(t, "float64")
end

return D

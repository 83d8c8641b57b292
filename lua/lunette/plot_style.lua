-- lunette.plot_style: style sheets as flat tables of matplotlib rc names:
-- "default" (matplotlib's defaults), "seaborn" (seaborn-v0_8: darkgrid,
-- deep palette, notebook context) and "dark" (black figure, white text,
-- grey panes and ticks: the hypersphere look).
local S = {}

local TAB10 = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" }

S.default = {
  ["figure.figsize"] = { 6.4, 4.8 }, ["figure.dpi"] = 100, ["figure.facecolor"] = "white",
  ["figure.titlesize"] = "large", ["figure.titleweight"] = "normal",
  ["figure.subplot.left"] = 0.125, ["figure.subplot.right"] = 0.9,
  ["figure.subplot.bottom"] = 0.11, ["figure.subplot.top"] = 0.88,
  ["figure.subplot.wspace"] = 0.2, ["figure.subplot.hspace"] = 0.2,
  ["savefig.pad_inches"] = 0.1, ["savefig.facecolor"] = "auto",
  ["font.size"] = 10, ["font.family"] = "DejaVu Sans",
  ["text.color"] = "black",
  ["axes.facecolor"] = "white", ["axes.edgecolor"] = "black", ["axes.linewidth"] = 0.8,
  ["axes.grid"] = false, ["axes.grid.axis"] = "both", ["axes.axisbelow"] = "line",
  ["axes.titlesize"] = "large", ["axes.titlepad"] = 6.0, ["axes.titlecolor"] = "auto",
  ["axes.titleweight"] = "normal", ["axes.labelsize"] = "medium", ["axes.labelpad"] = 4.0,
  ["axes.labelcolor"] = "black", ["axes.prop_cycle"] = TAB10,
  ["axes.xmargin"] = 0.05, ["axes.ymargin"] = 0.05,
  ["axes.formatter.limits"] = { -5, 6 },
  ["xtick.major.size"] = 3.5, ["xtick.major.width"] = 0.8, ["xtick.major.pad"] = 3.5,
  ["xtick.minor.size"] = 2, ["xtick.minor.width"] = 0.6,
  ["xtick.labelsize"] = "medium", ["xtick.color"] = "black", ["xtick.labelcolor"] = "inherit",
  ["xtick.direction"] = "out",
  ["ytick.major.size"] = 3.5, ["ytick.major.width"] = 0.8, ["ytick.major.pad"] = 3.5,
  ["ytick.minor.size"] = 2, ["ytick.minor.width"] = 0.6,
  ["ytick.labelsize"] = "medium", ["ytick.color"] = "black", ["ytick.labelcolor"] = "inherit",
  ["ytick.direction"] = "out",
  ["grid.color"] = "#b0b0b0", ["grid.linewidth"] = 0.8, ["grid.alpha"] = 1.0, ["grid.linestyle"] = "-",
  ["lines.linewidth"] = 1.5, ["lines.markersize"] = 6, ["lines.solid_capstyle"] = "projecting",
  ["lines.dash_capstyle"] = "butt", ["lines.markeredgewidth"] = 1.0, ["lines.color"] = "C0",
  ["patch.linewidth"] = 1.0, ["patch.edgecolor"] = "black", ["patch.facecolor"] = "C0",
  ["legend.fontsize"] = "medium", ["legend.frameon"] = true, ["legend.framealpha"] = 0.8,
  ["legend.edgecolor"] = "0.8", ["legend.facecolor"] = "inherit", ["legend.fancybox"] = true,
  ["legend.loc"] = "best", ["legend.borderpad"] = 0.4, ["legend.labelspacing"] = 0.5,
  ["legend.handlelength"] = 2.0, ["legend.handleheight"] = 0.7, ["legend.handletextpad"] = 0.8,
  ["legend.borderaxespad"] = 0.5, ["legend.columnspacing"] = 2.0, ["legend.labelcolor"] = "none",
  ["legend.markerscale"] = 1.0, ["legend.title_fontsize"] = "medium",
  ["image.cmap"] = "viridis", ["image.interpolation"] = "antialiased",
  ["scatter.marker"] = "o", ["scatter.edgecolors"] = "face",
  ["hist.bins"] = 10,
  ["boxplot.whiskers"] = 1.5, ["boxplot.boxprops.color"] = "black", ["boxplot.boxprops.linewidth"] = 1.0,
  ["boxplot.whiskerprops.color"] = "black", ["boxplot.whiskerprops.linewidth"] = 1.0,
  ["boxplot.capprops.color"] = "black", ["boxplot.capprops.linewidth"] = 1.0,
  ["boxplot.medianprops.color"] = "C1", ["boxplot.medianprops.linewidth"] = 1.0,
  ["boxplot.flierprops.marker"] = "o", ["boxplot.flierprops.markersize"] = 6,
  ["boxplot.flierprops.markeredgecolor"] = "black", ["boxplot.flierprops.markerfacecolor"] = "none",
  ["boxplot.flierprops.markeredgewidth"] = 1.0,
  ["axes3d.grid"] = true, ["axes3d.pane.fill"] = true, ["axes3d.pane.edgecolor"] = "auto",
  ["axes3d.elev"] = 30, ["axes3d.azim"] = -60,
}

-- seaborn-v0_8 = darkgrid + deep palette + notebook context (matplotlib's style sheet)
S.seaborn = {
  ["axes.axisbelow"] = true, ["axes.edgecolor"] = "white", ["axes.facecolor"] = "#EAEAF2",
  ["axes.grid"] = true, ["axes.labelcolor"] = ".15", ["axes.labelsize"] = 11, ["axes.linewidth"] = 0,
  ["axes.prop_cycle"] = { "#4C72B0", "#55A868", "#C44E52", "#8172B2", "#CCB974", "#64B5CD" },
  ["axes.titlesize"] = 12, ["figure.facecolor"] = "white", ["figure.figsize"] = { 8.0, 5.5 },
  ["grid.color"] = "white", ["grid.linestyle"] = "-", ["grid.linewidth"] = 1,
  ["image.cmap"] = "Greys", ["legend.fontsize"] = 10, ["legend.frameon"] = false,
  ["lines.linewidth"] = 1.75, ["lines.markeredgewidth"] = 0, ["lines.markersize"] = 7,
  ["lines.solid_capstyle"] = "round", ["patch.facecolor"] = "#4C72B0", ["patch.linewidth"] = 0.3,
  ["text.color"] = ".15",
  ["xtick.color"] = ".15", ["xtick.direction"] = "out", ["xtick.labelsize"] = 10,
  ["xtick.major.pad"] = 7, ["xtick.major.size"] = 0, ["xtick.major.width"] = 1,
  ["xtick.minor.size"] = 0, ["xtick.minor.width"] = 0.5,
  ["ytick.color"] = ".15", ["ytick.direction"] = "out", ["ytick.labelsize"] = 10,
  ["ytick.major.pad"] = 7, ["ytick.major.size"] = 0, ["ytick.major.width"] = 1,
  ["ytick.minor.size"] = 0, ["ytick.minor.width"] = 0.5,
}

-- black background, white titles, grey axes, ticks and panes (seed 2's panels)
S.dark = {
  ["figure.facecolor"] = "black", ["savefig.facecolor"] = "black",
  ["axes.facecolor"] = "black", ["axes.edgecolor"] = "gray", ["axes.labelcolor"] = "gray",
  ["axes.titlecolor"] = "white", ["text.color"] = "white",
  ["axes.prop_cycle"] = { "#8dd3c7", "#feffb3", "#bfbbd9", "#fa8174", "#81b1d2",
                          "#fdb462", "#b3de69", "#bc82bd", "#ccebc4", "#ffed6f" },
  ["xtick.color"] = "gray", ["ytick.color"] = "gray", ["lines.color"] = "white",
  ["patch.edgecolor"] = "white", ["legend.facecolor"] = "black", ["legend.edgecolor"] = "gray",
  ["legend.labelcolor"] = "white", ["boxplot.boxprops.color"] = "white",
  ["boxplot.whiskerprops.color"] = "white", ["boxplot.capprops.color"] = "white",
  ["boxplot.flierprops.markeredgecolor"] = "white",
  ["axes3d.pane.fill"] = false, ["axes3d.pane.edgecolor"] = "gray",
}

S.aliases = { matplotlib = "default", mpl = "default", ["seaborn-v0_8"] = "seaborn",
              darkgrid = "seaborn", black = "dark", dark_background = "dark" }

local current = "default"
local overrides = {}

local function copy(t)
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  return o
end

-- The full rc table of a named style plus overrides (a fresh table).
function S.resolve(name, extra)
  name = S.aliases[name] or name
  local sheet = S[name]
  if type(sheet) ~= "table" or name == "aliases" then
    error(("unknown style '%s' (default, seaborn, dark)"):format(tostring(name)), 3)
  end
  local rc = copy(S.default)
  for k, v in pairs(sheet) do rc[k] = v end
  for k, v in pairs(extra or {}) do rc[k] = v end
  return rc
end

-- Sets the style new figures start from; returns the previous name.
function S.use(name, extra)
  S.resolve(name, extra) -- validates
  local prev = current
  current, overrides = S.aliases[name] or name, copy(extra or {})
  return prev
end

function S.current() return S.resolve(current, overrides) end
function S.current_name() return current end

-- Mutates the current style's overrides (plot.rc{["font.size"] = 12}).
function S.set(kv)
  for k, v in pairs(kv) do
    if S.default[k] == nil then error(("unknown rc parameter '%s'"):format(tostring(k)), 3) end
    overrides[k] = v
  end
end

local SCALE = { ["xx-small"] = 0.579, ["x-small"] = 0.694, small = 0.833, medium = 1.0,
                large = 1.2, ["x-large"] = 1.44, ["xx-large"] = 1.728, larger = 1.2, smaller = 0.833 }

-- A font size in points from a number or a relative name ("large").
function S.fontsize(rc, v)
  if type(v) == "number" then return v end
  local s = SCALE[v]
  if not s then error(("unknown font size '%s'"):format(tostring(v)), 3) end
  return rc["font.size"] * s
end

return S

-- lunette: the top-level table; every module hangs off it.
local lunette = { _VERSION = "lunette 0.1.0" }
return lunette

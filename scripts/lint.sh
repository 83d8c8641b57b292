#!/bin/sh
# lint.sh - DESIGN.md's layering (core C never sees Lua) and STYLE.md's sizes.
exec lua5.4 scripts/lint.lua "$@"

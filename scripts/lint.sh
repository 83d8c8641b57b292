#!/bin/sh
# lint.sh [files] - DESIGN.md's layering (core C never sees Lua), formats of
# Lua-formatted messages, STYLE.md's sizes.
exec lua5.4 scripts/lint.lua "$@"

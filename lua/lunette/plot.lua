-- lunette.plot: placeholder until its issue lands.
return require "lunette._plot"

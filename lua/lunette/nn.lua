-- lunette.nn: placeholder until its issue lands.
return require "lunette._nn"

"""The autograd Functions of mmdarts and the modes they consult: each computes what torch's ops compute, storing
less or calling fewer operators; each equals torch's ops in float64 (tests), twice differentiable where a double
backward may run through it."""

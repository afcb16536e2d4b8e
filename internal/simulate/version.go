package simulate

// OutputVersion names what Generate writes for a given Config. Bump it with
// any change that alters the records, the truth or the side files of an
// existing seed and scale: the benchmark harness keys its cached data sets
// by it, so figures are never measured on data an older simulator made.
// TestOutputVersion fails until it is bumped.
const OutputVersion = 1

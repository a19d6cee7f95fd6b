package bench

// ScratchSchema returns the PostgreSQL scratch schema the run of r made
// (and dropped).
func ScratchSchema(r *Result) string { return r.schema }

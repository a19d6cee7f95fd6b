package sim

// DS is what a run through a delivery service (Options.DS) measured of it,
// over the measured epochs: the "ds" object of `mls sim --ds --json`.
// Bytes are those of HTTP bodies (headers not counted); every figure is a
// median.
type DS struct {
	// Store is Options.DS, without a password.
	Store string `json:"store"`
	// CommitUploadBytes are the bytes a committer posts per commit of each
	// kind: the commit bundle (commit, Welcome, GroupInfo of the new
	// epoch; no tree, which the service serves).
	CommitUploadBytes KindBytes `json:"commit_upload_bytes"`
	// JoinDownloadBytes are the bytes an observer fetched to join: its
	// Welcome and the tree of its epoch. JoinTreeBytes is the tree's part.
	JoinDownloadBytes int `json:"join_download_bytes"`
	JoinTreeBytes     int `json:"join_tree_bytes"`
	// FanoutBytesPerCommit are the bytes all the observers but the
	// committer fetch for one commit.
	FanoutBytesPerCommit int `json:"fanout_bytes_per_commit"`
	// DSCPUPerCommitMS is the CPU time of the process while the service
	// handled a commit's post (PostCommit, all kinds): the service's
	// validation, ordering and store write, plus the client's side of
	// the request on loopback (encoding, HTTP), minus nothing; the run
	// does nothing else meanwhile. DSCPUMS splits it by kind.
	DSCPUPerCommitMS float64  `json:"ds_cpu_per_commit_ms"`
	DSCPUMS          KindTime `json:"ds_cpu_ms"`
	// PostMedianMS is the wall-clock time of a commit's post (the
	// committer's PostCommit); FetchMedianMS that of an observer's fetch
	// of a commit.
	PostMedianMS  float64 `json:"post_median_ms"`
	FetchMedianMS float64 `json:"fetch_median_ms"`
	// ApplicationUploadBytes are the bytes of an application message
	// posted; SetupUploadBytes the bytes of the group's creation at the
	// service (its GroupInfo and tree).
	ApplicationUploadBytes int `json:"application_upload_bytes"`
	SetupUploadBytes       int `json:"setup_upload_bytes"`
}

// KindBytes are sizes by kind of commit.
type KindBytes struct {
	Update int `json:"update"`
	Add    int `json:"add"`
	Remove int `json:"remove"`
}

// KindTime are times in milliseconds by kind of commit.
type KindTime struct {
	Update float64 `json:"update"`
	Add    float64 `json:"add"`
	Remove float64 `json:"remove"`
}

// result returns the DS of the samples.
func (d *dsRun) result() *DS {
	s := &d.smp
	var all []span
	for _, kind := range []string{opUpdate, opAdd, opRemove} {
		all = append(all, s.cpu[kind]...)
	}
	cpu := func(kind string) float64 { return ms(median(cpus(s.cpu[kind]))) }
	return &DS{
		Store:                  redactedURL(d.url),
		CommitUploadBytes:      KindBytes{Update: median(s.upload[opUpdate]), Add: median(s.upload[opAdd]), Remove: median(s.upload[opRemove])},
		JoinDownloadBytes:      median(s.join),
		JoinTreeBytes:          median(s.tree),
		FanoutBytesPerCommit:   median(s.fanout),
		DSCPUPerCommitMS:       ms(median(cpus(all))),
		DSCPUMS:                KindTime{Update: cpu(opUpdate), Add: cpu(opAdd), Remove: cpu(opRemove)},
		PostMedianMS:           ms(median(walls(all))),
		FetchMedianMS:          ms(median(s.fetch)),
		ApplicationUploadBytes: median(s.app),
		SetupUploadBytes:       d.setup,
	}
}

// writeTable writes the lines of the DS in a run's table.
func (ds *DS) writeTable(p *printer) {
	p.printf("\ndelivery service %s (medians; HTTP body bytes)\n", ds.Store)
	u := ds.CommitUploadBytes
	p.printf("  commit upload   update %d B, add %d B, remove %d B\n", u.Update, u.Add, u.Remove)
	p.printf("  service cpu     %.3f ms per commit (update %.3f, add %.3f, remove %.3f)\n",
		ds.DSCPUPerCommitMS, ds.DSCPUMS.Update, ds.DSCPUMS.Add, ds.DSCPUMS.Remove)
	p.printf("  post / fetch    %.3f ms / %.3f ms\n", ds.PostMedianMS, ds.FetchMedianMS)
	p.printf("  fan-out         %d B per commit to the observers\n", ds.FanoutBytesPerCommit)
	p.printf("  join download   %d B (tree %d B)\n", ds.JoinDownloadBytes, ds.JoinTreeBytes)
	p.printf("  setup upload    %d B; application message %d B\n", ds.SetupUploadBytes, ds.ApplicationUploadBytes)
}

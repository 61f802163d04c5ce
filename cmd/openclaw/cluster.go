package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/gateway"
	"openclaw/actors/store"
	"openclaw/actors/store/jsstore"
)

// ClusterCmd groups the cluster commands.
type ClusterCmd struct {
	Import ClusterImportCmd `cmd:"" help:"Copy this gateway's state (sessions, transcripts, devices, pairing, kv, cron, queued updates) into a cluster's JetStream, once."`
}

// ClusterImportCmd migrates a standalone gateway's SQLite state into the
// cluster it joins. Run it with the gateway stopped; running it again
// imports only what is not there yet.
type ClusterImportCmd struct {
	NATS     string        `name:"nats" required:"" placeholder:"URL" help:"The cluster's NATS (an external server, or a gateway's embedded one through its clientListen)."`
	Cluster  string        `required:"" placeholder:"NAME" help:"The cluster's name (gateway.cluster.name)."`
	Replicas int           `default:"1" help:"Replicas of the buckets, when the import creates them (gateway.cluster.replicas)."`
	Creds    string        `type:"existingfile" placeholder:"FILE" help:"NATS credentials file."`
	Timeout  time.Duration `default:"10m" help:"Give up after this long."`
}

func (c *ClusterImportCmd) Run(g *Globals) error {
	_, paths, err := g.paths()
	if err != nil {
		return err
	}
	dbPath := store.DefaultPath(paths.StateDir)
	if _, err := os.Stat(dbPath); err != nil {
		return fail(exitConfig, "no state database to import at %s", dbPath)
	}
	// The gateway's lock: no gateway writes the file while it is read.
	release, err := gateway.LockStateDir(paths.StateDir)
	if err != nil {
		return fail(exitConfig, "%v (stop the gateway before importing its state)", err)
	}
	defer release()
	src, err := store.Open(dbPath)
	if err != nil {
		return fail(exitConfig, "%v", err)
	}
	defer src.Close()

	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	opts := []nats.Option{nats.Name("openclaw cluster import")}
	if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	nc, err := nats.Connect(c.NATS, opts...)
	if err != nil {
		return fail(exitFailure, "cannot reach NATS at %s: %v", c.NATS, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	dst, err := jsstore.Open(ctx, js, jsstore.Config{Cluster: c.Cluster, Replicas: c.Replicas})
	if errors.Is(err, store.ErrInvalid) {
		return fail(exitUsage, "--cluster: %v", err)
	}
	if err != nil {
		return fail(exitFailure, "cluster %s at %s: %v", c.Cluster, c.NATS, err)
	}
	defer dst.Close()
	r, err := dst.Import(ctx, src)
	writeImportReport(os.Stdout, c.Cluster, r)
	if err != nil {
		return fail(exitFailure, "import stopped (run it again to finish): %v", err)
	}
	if !r.Complete() {
		return fail(exitFailure, "%d conflicts: the cluster's values were kept, the file's are still in %s", len(r.Conflicts), dbPath)
	}
	return nil
}

// writeImportReport prints what an import did, a line per kind.
func writeImportReport(w io.Writer, cluster string, r jsstore.ImportReport) {
	fmt.Fprintf(w, "imported into cluster %s: %d sessions (%d messages), %d kv entries\n", cluster, r.Sessions, r.Messages, r.Keys)
	fmt.Fprintf(w, "imported cron: %d jobs, %d runs; queues: %d unacknowledged items\n", r.CronJobs, r.CronRuns, r.QueueItems)
	fmt.Fprintf(w, "already there: %d sessions, %d kv entries, %d cron jobs and runs, %d queue items\n",
		r.SessionsPresent, r.KeysPresent, r.CronPresent, r.QueuePresent)
	for _, c := range r.Conflicts {
		fmt.Fprintf(w, "conflict, the cluster's kept: %s\n", c)
	}
}

// Command mongo-compat runs FerretDB v1 with its SQLite backend as a local
// MongoDB-compatible server, so Doorbell can run where no MongoDB is installed.
// FerretDB's own command needs a generated version file that `go install`
// does not produce, which is why this program embeds the ferretdb package.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (host:port)")
	dataDir := flag.String("data-dir", "./data/mongo", "directory for the SQLite database files")
	logLevel := flag.String("log-level", "error", "log level: debug, info, warn or error")
	flag.Parse()

	if err := run(*listenAddr, *dataDir, *logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "mongo-compat: %v\n", err)
		os.Exit(1)
	}
}

func run(listenAddr, dataDir, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("invalid -log-level %q: use debug, info, warn or error", logLevel)
	}

	absDataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return fmt.Errorf("invalid -data-dir %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(absDataDir, 0o700); err != nil {
		return fmt.Errorf("cannot create -data-dir %q: %w", absDataDir, err)
	}

	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// The SQLite backend takes a directory URI with a trailing slash and keeps
	// one database file per MongoDB database in it.
	server, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + absDataDir + "/",
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	go indexIDLookups(ctx, absDataDir, time.Second, logger)

	// Logged for people reading .doorbell/logs; the launcher waits for the TCP port instead.
	fmt.Printf("mongo-compat listening on %s, data in %s\n", server.MongoDBURI(), absDataDir)

	return server.Run(ctx)
}

package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver, the one FerretDB uses
)

// FerretDB v1.24's SQLite backend finds a document by _id with the expression
// _ferretdb_sjson->'$._id', but indexes _id as _ferretdb_sjson->"_id". SQLite
// uses an index only for the same expression, so every lookup, update and delete
// by _id reads the whole table. This file adds, for each collection table, an
// index on the expression the lookups use.

// lookupIndexSuffix names the added index after its table.
const lookupIndexSuffix = "__id_lookup"

// indexIDLookups adds the missing lookup indexes now and then every interval,
// because FerretDB creates a table when a collection is first written.
func indexIDLookups(ctx context.Context, dataDir string, interval time.Duration, logger *slog.Logger) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	// A failure that repeats every interval is logged once, until another one or a success.
	lastFailure := ""
	for {
		err := indexDataDir(ctx, dataDir, logger)
		switch {
		case err == nil:
			lastFailure = ""
		case ctx.Err() == nil && err.Error() != lastFailure:
			lastFailure = err.Error()
			logger.Warn("adding _id lookup indexes failed; retrying every interval", slog.String("error", lastFailure), slog.Duration("interval", interval))
		}

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// indexDataDir adds the lookup indexes to every database file in dataDir.
func indexDataDir(ctx context.Context, dataDir string, logger *slog.Logger) error {
	files, err := filepath.Glob(filepath.Join(dataDir, "*.sqlite"))
	if err != nil {
		return err
	}

	for _, file := range files {
		if err := indexDatabase(ctx, file, logger); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(file), err)
		}
	}
	return nil
}

// indexDatabase adds the lookup index to each collection table of one database
// file. The file is opened for this pass only, because FerretDB deletes and
// creates it again when a database is dropped.
func indexDatabase(ctx context.Context, file string, logger *slog.Logger) error {
	if _, err := os.Stat(file); err != nil {
		return nil // dropped since the listing
	}

	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
	if err != nil {
		return err
	}
	defer db.Close()

	missing, err := tablesWithoutLookupIndex(ctx, db)
	if err != nil {
		return err
	}

	for _, table := range missing {
		quoted := `"` + strings.ReplaceAll(table, `"`, `""`) + `"`
		index := `"` + strings.ReplaceAll(table+lookupIndexSuffix, `"`, `""`) + `"`
		statement := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (_ferretdb_sjson->'$._id')`, index, quoted)
		if _, err := db.ExecContext(ctx, statement); err != nil {
			if strings.Contains(err.Error(), "no such table") {
				continue // dropped since the listing
			}
			return fmt.Errorf("indexing table %s: %w", table, err)
		}
		logger.Info("added _id lookup index", slog.String("database", filepath.Base(file)), slog.String("table", table))
	}
	return nil
}

// tablesWithoutLookupIndex lists FerretDB's collection tables that lack the
// lookup index. A file without FerretDB's metadata table has none.
func tablesWithoutLookupIndex(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT c.table_name FROM _ferretdb_collections AS c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master AS m WHERE m.type = 'index' AND m.name = c.table_name || ?)
		AND EXISTS (SELECT 1 FROM sqlite_master AS t WHERE t.type = 'table' AND t.name = c.table_name)`,
		lookupIndexSuffix)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil, nil
		}
		return nil, err
	}
	defer rows.Close()

	var tables []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			return nil, err
		}
		tables = append(tables, table)
	}
	return tables, rows.Err()
}

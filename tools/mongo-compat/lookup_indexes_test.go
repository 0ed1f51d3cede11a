package main

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// lookupQuery is the statement FerretDB v1.24 runs to find a document by _id.
const lookupQuery = `SELECT _ferretdb_sjson FROM "things_5d1c" WHERE _ferretdb_sjson->'$._id' = ?`

func TestIndexDataDirIndexesLookups(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "app.sqlite")
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// The layout FerretDB creates: its collection list, and one table per collection with the
	// _id index it makes itself. "gone" is listed but its table was dropped.
	for _, statement := range []string{
		`CREATE TABLE _ferretdb_collections (name TEXT NOT NULL UNIQUE, table_name TEXT NOT NULL UNIQUE, settings TEXT NOT NULL)`,
		`INSERT INTO _ferretdb_collections VALUES ('things', 'things_5d1c', '{}'), ('gone', 'gone_0a1b', '{}')`,
		`CREATE TABLE "things_5d1c" (_ferretdb_sjson TEXT NOT NULL)`,
		`CREATE UNIQUE INDEX "things_5d1c__id_" ON "things_5d1c" (_ferretdb_sjson->"_id")`,
		`INSERT INTO "things_5d1c" VALUES ('{"_id":"a"}'), ('{"_id":"b"}')`,
	} {
		if _, err := db.Exec(statement); err != nil {
			t.Fatalf("%s: %v", statement, err)
		}
	}
	if plan := queryPlan(t, db); !strings.Contains(plan, "SCAN") {
		t.Fatalf("plan before indexing = %q, expected a SCAN", plan)
	}

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for pass := 1; pass <= 2; pass++ {
		if err := indexDataDir(context.Background(), dir, logger); err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
	}

	var found string
	if err := db.QueryRow(lookupQuery, `"b"`).Scan(&found); err != nil {
		t.Fatalf("lookup of b failed: %v", err)
	}
	if found != `{"_id":"b"}` {
		t.Fatalf("lookup of b = %q, expected its document", found)
	}
	// Checked after a query: EXPLAIN alone does not make a connection reload a schema that another
	// connection changed.
	if plan := queryPlan(t, db); !strings.Contains(plan, "USING INDEX things_5d1c__id_lookup") {
		t.Fatalf("plan after indexing = %q, expected the lookup index", plan)
	}
}

func TestIndexDataDirSkipsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "empty.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE unrelated (x TEXT)`); err != nil {
		t.Fatal(err)
	}

	if err := indexDataDir(context.Background(), dir, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("a file without FerretDB's metadata: %v", err)
	}
}

func queryPlan(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+lookupQuery, `"a"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()

	var details []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		details = append(details, detail)
	}
	return strings.Join(details, "; ")
}

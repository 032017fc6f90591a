//! The benchmark (`bench/run`, crate `godwit-bench`) at tiny sizes, so that it cannot rot: every
//! workload on every database, one run, with the debug binary. It checks that the benchmark runs
//! and produces numbers, never how fast godwit is.

use godwit_bench::{Database, Options, Sizes, Workload};

#[test]
fn every_workload_runs_on_every_database_at_tiny_sizes() {
    let mut opts = Options::new(env!("CARGO_BIN_EXE_godwit").into());
    opts.runs = 1;
    opts.sizes = Sizes {
        w1_migrations: 3,
        w2_applied: 3,
        w3_bytes: 20_000,
        w4_files: 12,
    };
    // The W3 baseline runs in this process (the `godwit-bench` binary is not built for this
    // package's tests); its own test covers `godwit-bench baseline-w3`.
    opts.baseline_exe = None;
    let rows = godwit_bench::run(&opts).expect("the benchmark runs");
    let table = godwit_bench::render_table(&rows);
    assert_eq!(
        rows.len(),
        Database::ALL.len() * Workload::ALL.len(),
        "{table}"
    );
    for row in &rows {
        assert!(
            row.error.is_none(),
            "{} {:?} failed: {}\n{table}",
            row.database.name(),
            row.workload,
            row.error.as_deref().unwrap_or_default()
        );
        assert!(
            row.ratio().is_finite() && row.ratio() > 0.0,
            "{} {:?}: ratio {}\n{table}",
            row.database.name(),
            row.workload,
            row.ratio()
        );
        assert_eq!(row.godwit.len(), 1, "{table}");
        assert_eq!(row.baseline.len(), 1, "{table}");
        assert!(row.godwit_peak_rss_kib().is_some(), "{table}");
    }
    for db in Database::ALL {
        assert!(table.contains(db.name()), "{table}");
    }
}

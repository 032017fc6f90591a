//! `godwit-bench`: runs the benchmark and prints its table (see `docs/benchmarks.md`), or, as
//! `godwit-bench baseline-w3 …`, runs the W3 baseline as a process of its own so that it is timed
//! and measured like godwit.

use std::path::PathBuf;
use std::process::ExitCode;

use godwit_bench::{Database, Options, Sizes, Workload};

const USAGE: &str = "\
godwit-bench: time godwit against each database's own client (docs/benchmarks.md)

usage: godwit-bench [options]
       godwit-bench baseline-w3 --db pg|mysql|sqlite --url URL --dir DIR

options:
  --quick            a tenth of the full sizes (W1 100, W2 100, W3 10 MB, W4 1,000)
  --scale F          the full sizes (W1 1,000, W2 1,000, W3 100 MB, W4 10,000) times F
  --runs N           paired runs of each workload on each database (default 3)
  --db LIST          databases, comma-separated: pg,mysql,sqlite (default: all)
  --workload LIST    workloads, comma-separated: w1,w2,w3,w4 (default: all)
  --godwit PATH      the godwit binary (default: `godwit` next to this binary)
  --pg-url URL       PostgreSQL server (default: $GODWIT_TEST_PG_URL or
                     postgres://postgres@127.0.0.1:5432/postgres)
  --mysql-url URL    MariaDB/MySQL server (default: $GODWIT_TEST_MYSQL_URL or
                     mysql://root@127.0.0.1:3306/test)
  --work-dir DIR     where the workloads are generated (default: the temporary directory)
  --keep             keep the generated files
  --quiet            print only the table, not every run
  -h, --help         this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("baseline-w3") {
        baseline_w3(&args[1..])
    } else {
        bench(&args)
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("godwit-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// Splits `--name=value` and `--name value` arguments.
struct Args<'a> {
    args: &'a [String],
    pos: usize,
}

impl<'a> Args<'a> {
    fn new(args: &'a [String]) -> Args<'a> {
        Args { args, pos: 0 }
    }

    /// The next flag and, when it was written `--name=value`, its value.
    fn next_flag(&mut self) -> Option<(&'a str, Option<&'a str>)> {
        let arg = self.args.get(self.pos)?;
        self.pos += 1;
        Some(match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (arg.as_str(), None),
        })
    }

    fn value(&mut self, flag: &str, inline: Option<&'a str>) -> Result<&'a str, String> {
        if let Some(v) = inline {
            return Ok(v);
        }
        let v = self
            .args
            .get(self.pos)
            .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        self.pos += 1;
        Ok(v)
    }
}

fn list<T>(text: &str, parse: impl Fn(&str) -> Option<T>, what: &str) -> Result<Vec<T>, String> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse(s).ok_or_else(|| format!("unknown {what} `{s}`")))
        .collect()
}

fn bench(args: &[String]) -> Result<ExitCode, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let default_godwit = exe.with_file_name(format!("godwit{}", std::env::consts::EXE_SUFFIX));
    let mut opts = Options::new(default_godwit);
    opts.baseline_exe = Some(exe);
    opts.progress = true;
    let mut args = Args::new(args);
    while let Some((flag, inline)) = args.next_flag() {
        match flag {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            "--quick" => opts.sizes = Sizes::quick(),
            "--scale" => {
                let v = args.value(flag, inline)?;
                let f: f64 = v
                    .parse()
                    .ok()
                    .filter(|f: &f64| f.is_finite() && *f > 0.0)
                    .ok_or_else(|| format!("--scale takes a positive number, not `{v}`"))?;
                opts.sizes = Sizes::scaled(f);
            }
            "--runs" => {
                let v = args.value(flag, inline)?;
                opts.runs = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--runs takes a positive integer, not `{v}`"))?;
            }
            "--db" => {
                opts.databases = list(args.value(flag, inline)?, Database::parse, "database")?
            }
            "--workload" => {
                opts.workloads = list(args.value(flag, inline)?, Workload::parse, "workload")?
            }
            "--godwit" => opts.godwit = PathBuf::from(args.value(flag, inline)?),
            "--pg-url" => opts.pg_url = args.value(flag, inline)?.to_string(),
            "--mysql-url" => opts.mysql_url = args.value(flag, inline)?.to_string(),
            "--work-dir" => opts.work_dir = Some(PathBuf::from(args.value(flag, inline)?)),
            "--keep" => opts.keep_files = true,
            "--quiet" => opts.progress = false,
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let s = &opts.sizes;
    eprintln!(
        "godwit-bench: {} paired run(s); W1 {} migrations, W2 {} applied, W3 {} bytes, W4 {} files; godwit = {}",
        opts.runs,
        s.w1_migrations,
        s.w2_applied,
        s.w3_bytes,
        s.w4_files,
        opts.godwit.display()
    );
    let rows = godwit_bench::run(&opts)?;
    println!("{}", godwit_bench::render_table(&rows));
    Ok(if rows.iter().any(|r| r.error.is_some()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `godwit-bench baseline-w3 --db DB --url URL --dir DIR`: the W3 baseline alone.
fn baseline_w3(args: &[String]) -> Result<ExitCode, String> {
    let (mut db, mut url, mut dir) = (None, None, None);
    let mut args = Args::new(args);
    while let Some((flag, inline)) = args.next_flag() {
        match flag {
            "--db" => {
                let v = args.value(flag, inline)?;
                db = Some(Database::parse(v).ok_or_else(|| format!("unknown database `{v}`"))?);
            }
            "--url" => url = Some(args.value(flag, inline)?.to_string()),
            "--dir" => dir = Some(PathBuf::from(args.value(flag, inline)?)),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let (Some(db), Some(url), Some(dir)) = (db, url, dir) else {
        return Err(format!(
            "baseline-w3 needs --db, --url and --dir\n\n{USAGE}"
        ));
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    match rt.block_on(godwit_bench::baseline::w3(db, &url, &dir)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("godwit-bench baseline-w3: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

// Rebuild when a migration file is added or removed (editing one rebuilds anyway): the
// migrations are embedded into the binary by `godwit::embed_migrations!`.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

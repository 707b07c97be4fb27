fn main() {
    println!("lanyard {}", env!("CARGO_PKG_VERSION"));
}

//! Write the generated seeds into `fuzz/corpus/<target>/` (bench/fuzz.sh runs it): a valid
//! checkpoint of the tiny trainer, the weights of the fixed network, and each as `.npz`.

use std::path::Path;

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let put = |target: &str, name: &str, bytes: &[u8]| {
        let d = corpus.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    };
    let w = eligo_fuzz::weights_seed();
    put("weights", "gen-weights.npz", &w);
    put("npz", "gen-weights.npz", &w);
    let c = eligo_fuzz::checkpoint_seed();
    put("checkpoint", "gen-checkpoint", &c);
    let files = eligo_fuzz::unpack(&c);
    for (name, f) in eligo_fuzz::CHECKPOINT_FILES.iter().zip(files) {
        if name.ends_with(".npz") {
            put("npz", &format!("gen-checkpoint-{name}"), f.unwrap());
            if *name == "weights.npz" {
                put("weights", "gen-checkpoint-weights.npz", f.unwrap());
            }
        }
    }
    put(
        "config",
        "gen-weights-net.toml",
        eligo_fuzz::WEIGHTS_NET.as_bytes(),
    );
}

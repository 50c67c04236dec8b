//! Any `.npz` archive through the reader every weights, checkpoint and optimizer file goes
//! through: all of it (`npz::read`), then member by member with a small size bound
//! (`npz::Archive`, as the loaders read it).
#![no_main]

use eligo_engine::io::npz;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = eligo_fuzz::file("in.npz", data);
    let _ = npz::read(&path);
    let Ok(mut a) = npz::Archive::new(std::io::Cursor::new(data), &path) else {
        return;
    };
    for (i, name) in a.names().into_iter().enumerate() {
        let max = 1u64 << (4 + i % 12);
        if let Ok(Some(arr)) = a.get(&name, max) {
            // the bound is in bytes (8 a value); 4-byte dtypes fit twice as many
            let most = npz::member_bound(max) / 4;
            assert!(
                arr.data.len() as u64 <= most,
                "{name}: {} values",
                arr.data.len()
            );
        }
        if let Ok(Some(b)) = a.bytes(&name, max) {
            assert!(
                b.len() as u64 <= npz::member_bound(max),
                "{name}: {} bytes",
                b.len()
            );
        }
    }
});

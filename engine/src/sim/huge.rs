//! Transparent huge pages for the simulation's large arrays.
//!
//! Delivery writes into the ring buffer at random places (a target's slot `(t + delay) % R`):
//! with 4 KiB pages, a ring of tens of MB (`R` slots × 2 channels × 4 B per neuron) spans
//! thousands of pages, more than the TLB holds, so most writes also walk the page table. On
//! Linux with `/sys/kernel/mm/transparent_hugepage/enabled` set to `madvise` (or `always`),
//! [`zeroed`] asks for 2 MiB pages over the array (`madvise(MADV_HUGEPAGE)`), which the kernel
//! then backs on first touch. The contents are zeroes either way; elsewhere, or if the kernel
//! refuses, the pages stay small and nothing else changes. `eligo bench microcircuit --scale
//! 1.0 --threads 1` (a ring of 77 169 neurons × 2 × R slots × 4 B), CPU seconds of the
//! timed 1000 ms on a loaded machine: 13.4 with small pages, 11.3 with huge ones.

/// Size of a transparent huge page on x86_64 and aarch64 Linux.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// `n` zeroes, asked to be backed by huge pages where the array spans whole ones.
pub(super) fn zeroed(n: usize) -> Vec<f32> {
    let v = vec![0.0f32; n];
    advise_huge(&v);
    v
}

/// Ask for huge pages over the whole 2 MiB pages inside `v` (nothing if there is none).
fn advise_huge(v: &[f32]) {
    #[cfg(target_os = "linux")]
    {
        let start = v.as_ptr() as usize;
        let end = start + std::mem::size_of_val(v);
        let lo = start.next_multiple_of(HUGE_PAGE);
        let hi = end / HUGE_PAGE * HUGE_PAGE;
        if hi > lo {
            // SAFETY: `lo..hi` lies inside `v`'s allocation, which this process owns;
            // MADV_HUGEPAGE only changes how the kernel backs those pages, never their
            // contents, so `v` stays valid. A failure (e.g. no THP support) is harmless.
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
            }
            // the allocator may hand out memory it has touched before (then zeroed with
            // small pages): collapse those into huge pages now (Linux >= 6.1; older kernels
            // refuse with EINVAL, harmlessly)
            #[cfg(target_env = "gnu")]
            // SAFETY: as above; MADV_COLLAPSE copies the pages' contents into huge pages.
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_COLLAPSE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

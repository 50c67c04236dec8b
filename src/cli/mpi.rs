//! Runs over several processes: `mpirun -np R eligo simulate ...` (or Slurm's `srun`), with
//! the `mpi` cargo feature (docs/distributed.md). Each process is a *rank*: it builds and
//! simulates its own share of the neurons and swaps spikes with the other ranks through MPI
//! collectives ([`World`] is the engine's [`Exchange`]); rank 0 writes every output.
//!
//! Without the feature, a process started by an MPI launcher with more than one rank refuses
//! to run (every copy would simulate the whole network and write the same files).

use anyhow::Result;
use eligo_engine::sim::Exchange;

/// Environment variables through which MPI launchers tell a process the job's size: Open MPI's
/// `mpirun`, MPICH's Hydra and Slurm's PMI/PMIx.
const SIZE_VARS: &[&str] = &[
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "PMIX_SIZE",
    "SLURM_NTASKS",
];

/// The number of ranks an MPI launcher started, if this process was started by one.
fn launched_size() -> Option<usize> {
    SIZE_VARS
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}

/// The MPI job this process belongs to: its rank and the collectives the commands need.
pub struct World {
    rank: usize,
    size: usize,
    /// Seconds in [`Exchange::all_gather`]'s first collective (every rank's length), where a
    /// rank waits for the slowest, and in its second (the data).
    pub wait_s: f64,
    /// See `wait_s`.
    pub move_s: f64,
    #[cfg(feature = "mpi")]
    comm: mpi::topology::SimpleCommunicator,
    // dropped last: finalizes MPI
    #[cfg(feature = "mpi")]
    _universe: mpi::environment::Universe,
}

/// Join the MPI job if an MPI launcher started this process (`None` otherwise: a plain
/// single-process run). Fails, as bad input, when a launcher started several ranks but this
/// `eligo` was built without MPI.
pub fn init() -> Result<Option<World>> {
    let Some(size) = launched_size() else {
        return Ok(None);
    };
    #[cfg(feature = "mpi")]
    {
        let _ = size;
        use mpi::traits::Communicator;
        // only the calling thread makes MPI calls (the step loop's thread 0 is it)
        let (universe, _level) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or_else(|| anyhow::anyhow!("MPI was initialized twice"))?;
        let comm = universe.world();
        Ok(Some(World {
            rank: comm.rank() as usize,
            size: comm.size() as usize,
            wait_s: 0.0,
            move_s: 0.0,
            comm,
            _universe: universe,
        }))
    }
    #[cfg(not(feature = "mpi"))]
    {
        if size <= 1 {
            return Ok(None);
        }
        Err(eligo_engine::Error::input(
            "mpirun",
            format!("{size} ranks"),
            "this eligo was built without MPI, so each rank would run the whole job alone",
            "build it with MPI: cargo build --release --features mpi (docs/distributed.md)",
        )
        .into())
    }
}

impl World {
    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Rank 0's `x` on every rank.
    pub fn broadcast(&self, x: &mut [u64]) {
        #[cfg(feature = "mpi")]
        {
            use mpi::traits::{Communicator, Root};
            self.comm.process_at_rank(0).broadcast_into(x);
        }
        #[cfg(not(feature = "mpi"))]
        let _ = x;
    }

    /// The element-wise sum of every rank's `x`, on every rank.
    pub fn sum(&self, x: &[u64]) -> Vec<u64> {
        #[cfg(feature = "mpi")]
        {
            use mpi::collective::SystemOperation;
            use mpi::traits::CommunicatorCollectives;
            let mut out = vec![0u64; x.len()];
            self.comm
                .all_reduce_into(x, &mut out[..], SystemOperation::sum());
            out
        }
        #[cfg(not(feature = "mpi"))]
        x.to_vec()
    }

    /// Every rank's `x` (all of the same length), rank after rank, on every rank.
    pub fn gather_f64(&self, x: &[f64]) -> Vec<f64> {
        #[cfg(feature = "mpi")]
        {
            use mpi::traits::CommunicatorCollectives;
            let mut out = vec![0f64; x.len() * self.size];
            self.comm.all_gather_into(x, &mut out[..]);
            out
        }
        #[cfg(not(feature = "mpi"))]
        x.to_vec()
    }

    /// End the whole job with exit code `code` (every rank, at once): what a rank does on an
    /// error the others may not share, so that none of them waits forever in a collective.
    pub fn abort(&self, code: u8) -> ! {
        #[cfg(feature = "mpi")]
        {
            use mpi::traits::Communicator;
            self.comm.abort(i32::from(code))
        }
        #[cfg(not(feature = "mpi"))]
        std::process::exit(i32::from(code))
    }
}

impl Exchange for World {
    fn rank(&self) -> usize {
        self.rank
    }

    fn ranks(&self) -> usize {
        self.size
    }

    fn all_gather(
        &mut self,
        mine: &[u32],
        all: &mut Vec<u32>,
        lens: &mut Vec<usize>,
    ) -> eligo_engine::error::Result<()> {
        let too_many = |n: usize| {
            eligo_engine::Error::input(
                "exchange",
                format!("{n} words"),
                "one epoch's spikes exceed MPI's 2^31 - 1 elements per message",
                "use more ranks or shorter delays",
            )
        };
        let n = i32::try_from(mine.len()).map_err(|_| too_many(mine.len()))?;
        #[cfg(feature = "mpi")]
        {
            use mpi::datatype::PartitionMut;
            use mpi::traits::CommunicatorCollectives;
            let mut counts = vec![0i32; self.size];
            let clock = std::time::Instant::now();
            self.comm.all_gather_into(&n, &mut counts[..]);
            self.wait_s += clock.elapsed().as_secs_f64();
            let clock = std::time::Instant::now();
            let total: usize = counts.iter().map(|&c| c as usize).sum();
            if total > i32::MAX as usize {
                return Err(too_many(total));
            }
            let displs: Vec<i32> = counts
                .iter()
                .scan(0i32, |at, &c| {
                    let d = *at;
                    *at += c;
                    Some(d)
                })
                .collect();
            all.clear();
            all.resize(total, 0);
            {
                let mut part = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
                self.comm.all_gather_varcount_into(mine, &mut part);
            }
            lens.clear();
            lens.extend(counts.iter().map(|&c| c as usize));
            self.move_s += clock.elapsed().as_secs_f64();
        }
        #[cfg(not(feature = "mpi"))]
        {
            let _ = n;
            all.clear();
            all.extend_from_slice(mine);
            lens.clear();
            lens.push(mine.len());
        }
        Ok(())
    }
}

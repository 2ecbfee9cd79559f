//! Tile reading and decoding off the UI thread.
//!
//! The UI says each frame which tiles it still wants, most wanted first; that list replaces
//! the queue, so tiles the view has moved away from are never read (stale requests are
//! dropped, not cancelled mid-read). A few worker threads take from the front, read and
//! decode, and send results back with a repaint request.

use skyglass_hips::{HipsSurvey, TileFormat, TileImage};
use std::collections::{HashSet, VecDeque};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// What a worker is asked to read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TileKey {
    /// The Allsky image, split into its tiles.
    Allsky {
        layer: u64,
    },
    Tile {
        layer: u64,
        order: u8,
        index: u64,
    },
}

pub struct Request {
    pub key: TileKey,
    pub survey: Arc<HipsSurvey>,
    pub format: TileFormat,
}

pub enum Fetched {
    Allsky { layer: u64, tiles: Result<Option<(u8, Vec<TileImage>)>, String> },
    Tile { layer: u64, order: u8, index: u64, tile: Result<Option<TileImage>, String> },
}

struct Queue {
    pending: VecDeque<Request>,
    in_flight: HashSet<TileKey>,
    closed: bool,
}

pub struct TileFetcher {
    queue: Arc<(Mutex<Queue>, Condvar)>,
    results: Receiver<Fetched>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl TileFetcher {
    /// Starts the workers; `wake` is called after each result (egui's request_repaint).
    pub fn start(wake: impl Fn() + Send + Sync + 'static) -> TileFetcher {
        let queue = Arc::new((
            Mutex::new(Queue { pending: VecDeque::new(), in_flight: HashSet::new(), closed: false }),
            Condvar::new(),
        ));
        let (sender, results) = channel();
        let wake = Arc::new(wake);
        let count = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 6));
        let workers = (0..count)
            .filter_map(|i| {
                let (queue, sender, wake) = (queue.clone(), sender.clone(), wake.clone());
                std::thread::Builder::new().name(format!("tiles-{i}")).spawn(move || work(&queue, &sender, &*wake)).ok()
            })
            .collect();
        TileFetcher { queue, results, workers }
    }

    /// Replaces what is waiting with `wanted` (most wanted first), leaving out what is
    /// already being read.
    pub fn want(&self, wanted: Vec<Request>) {
        let (lock, ready) = &*self.queue;
        let mut queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let in_flight = &queue.in_flight;
        let fresh: VecDeque<Request> = wanted.into_iter().filter(|r| !in_flight.contains(&r.key)).collect();
        queue.pending = fresh;
        ready.notify_all();
    }

    /// Whether a tile is queued or being read.
    pub fn is_busy(&self, key: &TileKey) -> bool {
        let queue = self.queue.0.lock().unwrap_or_else(PoisonError::into_inner);
        queue.in_flight.contains(key) || queue.pending.iter().any(|r| &r.key == key)
    }

    /// Results ready now, without waiting.
    pub fn take_results(&self) -> Vec<Fetched> {
        self.results.try_iter().collect()
    }
}

impl Drop for TileFetcher {
    fn drop(&mut self) {
        let (lock, ready) = &*self.queue;
        lock.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        ready.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn work(queue: &(Mutex<Queue>, Condvar), sender: &Sender<Fetched>, wake: &(dyn Fn() + Send + Sync)) {
    let (lock, ready) = queue;
    loop {
        let request = {
            let mut queue = lock.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if queue.closed {
                    return;
                }
                if let Some(request) = queue.pending.pop_front() {
                    queue.in_flight.insert(request.key.clone());
                    break request;
                }
                queue = ready.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let result = match &request.key {
            TileKey::Allsky { layer } => Fetched::Allsky {
                layer: *layer,
                tiles: request.survey.read_allsky(request.format).map_err(|e| e.to_string()),
            },
            TileKey::Tile { layer, order, index } => Fetched::Tile {
                layer: *layer,
                order: *order,
                index: *index,
                tile: request.survey.read_tile(*order, *index, request.format).map_err(|e| e.to_string()),
            },
        };
        lock.lock().unwrap_or_else(PoisonError::into_inner).in_flight.remove(&request.key);
        if sender.send(result).is_err() {
            return;
        }
        wake();
    }
}

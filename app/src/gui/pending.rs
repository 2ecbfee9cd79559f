//! Work that finishes on another thread, collected by the UI when it is in: one type for
//! surveys being opened, tables being read, catalogues being built and VOTables being
//! written, so that nothing table-sized runs on the UI thread and every kind of background
//! work is received the same way.

use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// A piece of work running on a thread of its own, named for the user.
pub struct Pending<T> {
    /// What the work is, as the UI shows it while it runs ("opening …").
    pub label: String,
    receiver: Receiver<T>,
}

impl<T: Send + 'static> Pending<T> {
    /// Runs `work` on a new thread named `thread`; `wake` is called when it is done, so the
    /// UI can collect it without polling.
    pub fn spawn(
        label: impl Into<String>,
        thread: &str,
        wake: impl Fn() + Send + 'static,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> std::io::Result<Pending<T>> {
        let (sender, receiver) = channel();
        std::thread::Builder::new().name(thread.to_owned()).spawn(move || {
            let _ = sender.send(work());
            wake();
        })?;
        Ok(Pending { label: label.into(), receiver })
    }
}

/// Takes the finished pieces of work out of `pending`, in the order they were started,
/// leaving those still running. Work whose thread ended without an answer (a panic in a
/// library) is dropped; what it would have made does not appear.
pub fn take_finished<T>(pending: &mut Vec<Pending<T>>) -> Vec<(String, T)> {
    let mut finished = Vec::new();
    pending.retain(|work| match work.receiver.try_recv() {
        Ok(result) => {
            finished.push((work.label.clone(), result));
            false
        }
        Err(TryRecvError::Empty) => true,
        Err(TryRecvError::Disconnected) => {
            tracing::warn!("{}: the work ended without an answer", work.label);
            false
        }
    });
    finished
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_work_is_taken_in_order_and_the_rest_kept() {
        let (release, wait) = channel::<()>();
        let mut pending = vec![
            Pending::spawn("first", "test-first", || {}, || 1).unwrap(),
            Pending::spawn(
                "slow",
                "test-slow",
                || {},
                move || {
                    let _ = wait.recv();
                    2
                },
            )
            .unwrap(),
            Pending::spawn("third", "test-third", || {}, || 3).unwrap(),
        ];
        let mut taken = Vec::new();
        for _ in 0..500 {
            taken.extend(take_finished(&mut pending));
            if taken.len() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(taken, [("first".to_owned(), 1), ("third".to_owned(), 3)]);
        assert_eq!(pending.len(), 1);
        release.send(()).unwrap();
        for _ in 0..500 {
            taken.extend(take_finished(&mut pending));
            if pending.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(taken.last(), Some(&("slow".to_owned(), 2)));
    }

    #[test]
    fn work_that_dies_leaves_nothing_behind() {
        let mut pending: Vec<Pending<u32>> =
            vec![Pending::spawn("doomed", "test-doomed", || {}, || panic!("a library failed")).unwrap()];
        for _ in 0..500 {
            if take_finished(&mut pending).is_empty() && pending.is_empty() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        panic!("the dead work was kept");
    }
}

//! The transcription worker: one thread that owns the [`Transcriber`] (model loading
//! included, so even start-up never blocks the UI), fed by a crossbeam channel and
//! answering with [`Event`]s. When requests pile up only the newest is transcribed — a
//! trainee who retries does not want the stale attempt — and the others are reported as
//! superseded, so every request id gets exactly one final event.
//!
//! A request may carry the questions to ask about its transcript ([`Ask`]): the worker
//! scores those readings right after transcribing, while the model still holds the audio,
//! and the answers come back with the transcript.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::verify::{self, Asked, Reading};
use super::{TranscribeError, Transcriber, Transcript};

/// Which readings to score for a transcript (see [`super::verify`]); called on the
/// worker thread with the transcript just made.
pub type Ask = Arc<dyn Fn(&Transcript) -> Vec<Reading> + Send + Sync>;

/// What the worker tells its owner.
#[derive(Debug)]
pub enum Event {
    /// The transcriber is loaded; requests will now be served.
    Ready,
    /// Loading failed; the worker has stopped and later requests go nowhere.
    LoadFailed(TranscribeError),
    /// Work on `id` began.
    Started { id: u64 },
    /// `id` finished, well or not. `elapsed` is the transcription time alone.
    Done {
        id: u64,
        result: Result<Transcript, TranscribeError>,
        elapsed: Duration,
        /// The readings the request asked about and the model's answers (none when it
        /// asked nothing, heard nothing or failed).
        readings: Vec<Asked>,
    },
    /// `id` was dropped unheard because a newer request arrived first.
    Superseded { id: u64 },
}

struct Request {
    id: u64,
    samples: Vec<f32>,
    ask: Option<Ask>,
}

/// Handle to the worker thread. Dropping it closes the request channel; the thread ends
/// after the request it is working on.
pub struct Worker {
    requests: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts a worker around a transcriber that already exists.
    pub fn spawn<T: Transcriber + 'static>(transcriber: T, events: Sender<Event>) -> Worker {
        Self::spawn_loading(move || Ok(transcriber), events)
    }

    /// Starts a worker that first builds its transcriber (e.g. loads the Whisper model) on
    /// its own thread and reports [`Event::Ready`] or [`Event::LoadFailed`].
    pub fn spawn_loading<T, F>(load: F, events: Sender<Event>) -> Worker
    where
        T: Transcriber + 'static,
        F: FnOnce() -> Result<T, TranscribeError> + Send + 'static,
    {
        let (tx, rx) = crossbeam_channel::unbounded::<Request>();
        let thread = std::thread::Builder::new()
            .name("ringcoach-transcribe".into())
            .spawn(move || run(load, rx, events))
            .expect("the OS refused to start the transcription thread");
        Worker {
            requests: Some(tx),
            thread: Some(thread),
        }
    }

    /// Queues 16 kHz mono samples for transcription under `id`. Never blocks.
    pub fn submit(&self, id: u64, samples: Vec<f32>) -> Result<(), TranscribeError> {
        self.send(Request {
            id,
            samples,
            ask: None,
        })
    }

    /// [`Worker::submit`], and score the readings `ask` wants of the transcript.
    pub fn submit_asking(
        &self,
        id: u64,
        samples: Vec<f32>,
        ask: Ask,
    ) -> Result<(), TranscribeError> {
        self.send(Request {
            id,
            samples,
            ask: Some(ask),
        })
    }

    fn send(&self, req: Request) -> Result<(), TranscribeError> {
        let gone = || TranscribeError::WorkerGone {
            detail: "its thread has exited (the model failed to load, or it panicked)".into(),
        };
        self.requests
            .as_ref()
            .ok_or_else(gone)?
            .send(req)
            .map_err(|_| gone())
    }

    /// Closes the queue and waits for the thread to finish its current request.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.requests.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run<T, F>(load: F, rx: Receiver<Request>, events: Sender<Event>)
where
    T: Transcriber,
    F: FnOnce() -> Result<T, TranscribeError>,
{
    let mut transcriber = match load() {
        Ok(t) => {
            let _ = events.send(Event::Ready);
            t
        }
        Err(e) => {
            // Close the queue first, so a submit after LoadFailed is seen to fail.
            drop(rx);
            let _ = events.send(Event::LoadFailed(e));
            return;
        }
    };
    while let Ok(mut req) = rx.recv() {
        // Latest wins: skip everything that is already stale.
        while let Ok(newer) = rx.try_recv() {
            let _ = events.send(Event::Superseded { id: req.id });
            req = newer;
        }
        if events.send(Event::Started { id: req.id }).is_err() {
            return; // nobody is listening any more
        }
        let t0 = Instant::now();
        let result = transcriber.transcribe(&req.samples);
        let elapsed = t0.elapsed();
        let readings = match (&result, &req.ask) {
            (Ok(t), Some(ask)) if !t.heard_nothing() => verify::ask(&mut transcriber, ask(t)),
            _ => Vec::new(),
        };
        let done = Event::Done {
            id: req.id,
            result,
            elapsed,
            readings,
        };
        if events.send(done).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcribe::Segment;
    use crossbeam_channel::{bounded, unbounded};

    /// A stand-in that reports how many samples it got, and can be held at a gate so the
    /// test controls when requests pile up.
    struct Counting {
        gate: Option<Receiver<()>>,
    }

    impl Transcriber for Counting {
        fn transcribe(&mut self, samples: &[f32]) -> Result<Transcript, TranscribeError> {
            if let Some(g) = &self.gate {
                g.recv().unwrap();
            }
            if samples.is_empty() {
                return Err(TranscribeError::Engine {
                    detail: "empty".into(),
                });
            }
            let text = samples.len().to_string();
            Ok(Transcript {
                text: text.clone(),
                segments: vec![Segment {
                    start_ms: 0,
                    end_ms: 1,
                    text,
                    tokens: vec![],
                }],
            })
        }
    }

    fn next(rx: &Receiver<Event>) -> Event {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the worker stopped answering")
    }

    #[test]
    fn results_and_errors_come_back_with_their_ids() {
        let (etx, erx) = unbounded();
        let w = Worker::spawn(Counting { gate: None }, etx);
        assert!(matches!(next(&erx), Event::Ready));
        w.submit(7, vec![0.0; 5]).unwrap();
        assert!(matches!(next(&erx), Event::Started { id: 7 }));
        match next(&erx) {
            Event::Done { id, result, .. } => {
                assert_eq!(id, 7);
                assert_eq!(result.unwrap().text, "5");
            }
            other => panic!("{other:?}"),
        }
        w.submit(8, vec![]).unwrap();
        assert!(matches!(next(&erx), Event::Started { id: 8 }));
        assert!(matches!(
            next(&erx),
            Event::Done {
                id: 8,
                result: Err(TranscribeError::Engine { .. }),
                ..
            }
        ));
        w.shutdown();
    }

    #[test]
    fn while_busy_only_the_newest_waiting_request_is_served() {
        let (gtx, grx) = bounded(0);
        let (etx, erx) = unbounded();
        let w = Worker::spawn(Counting { gate: Some(grx) }, etx);
        assert!(matches!(next(&erx), Event::Ready));
        w.submit(1, vec![0.0; 1]).unwrap();
        assert!(matches!(next(&erx), Event::Started { id: 1 }));
        // Request 1 is held at the gate; 2, 3 and 4 pile up behind it.
        for id in 2..=4 {
            w.submit(id, vec![0.0; id as usize]).unwrap();
        }
        gtx.send(()).unwrap();
        assert!(matches!(next(&erx), Event::Done { id: 1, .. }));
        assert!(matches!(next(&erx), Event::Superseded { id: 2 }));
        assert!(matches!(next(&erx), Event::Superseded { id: 3 }));
        assert!(matches!(next(&erx), Event::Started { id: 4 }));
        gtx.send(()).unwrap();
        match next(&erx) {
            Event::Done { id: 4, result, .. } => assert_eq!(result.unwrap().text, "4"),
            other => panic!("{other:?}"),
        }
        drop(gtx);
        w.shutdown();
    }

    #[test]
    fn a_failed_load_is_reported_and_later_submits_fail() {
        let (etx, erx) = unbounded();
        let w = Worker::spawn_loading(
            || -> Result<Counting, _> {
                Err(TranscribeError::ModelMissing {
                    path: "/nowhere/ggml-base.bin".into(),
                })
            },
            etx,
        );
        assert!(matches!(
            next(&erx),
            Event::LoadFailed(TranscribeError::ModelMissing { .. })
        ));
        let err = w.submit(1, vec![0.0]).unwrap_err();
        assert!(matches!(err, TranscribeError::WorkerGone { .. }));
    }
}

//! The transcription worker: one thread that owns the [`Transcriber`] (model loading
//! included, so even start-up never blocks the UI), fed by a crossbeam channel and
//! answering with [`Event`]s. Every request id gets exactly one final event:
//! [`Event::Done`], or [`Event::Superseded`] for a guess made stale.
//!
//! Requests are served in the order they came, with one exception that keeps a busy
//! machine from queueing stale work: a *guess* (a request [`Request::guess`] made, e.g.
//! the reply so far at a pause) is stale as soon as a newer request arrives in its lane.
//! A stale guess still waiting is dropped; one already running is cancelled (whisper.cpp
//! checks after the encoder and after every decoder step). A request made with
//! [`Request::needed`] is always answered.
//!
//! A request may carry the questions to ask about its transcript ([`Ask`]): the worker
//! scores those readings right after transcribing, while the model still holds the audio,
//! and the answers come back with the transcript.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::verify::{self, Asked, Reading};
use super::{Cancel, RunInfo, TranscribeError, Transcriber, Transcript};

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
    /// Work on `id` began, `queued` after it was submitted.
    Started { id: u64, queued: Duration },
    /// `id` finished, well or not. `elapsed` is the transcription time alone; `run` what
    /// the transcriber reports of it (threads, timings).
    Done {
        id: u64,
        result: Result<Transcript, TranscribeError>,
        elapsed: Duration,
        run: Option<RunInfo>,
        /// The readings the request asked about and the model's answers (none when it
        /// asked nothing, heard nothing or failed).
        readings: Vec<Asked>,
    },
    /// The guess `id` was dropped because a newer request in its lane made it stale:
    /// unheard, or cancelled after `spent` of work.
    Superseded { id: u64, spent: Duration },
}

/// One piece of audio to transcribe and what may make it stale.
pub struct Request {
    pub id: u64,
    pub samples: Vec<f32>,
    /// Requests in the same lane concern the same audio (a turn of a call).
    pub lane: u64,
    /// A guess goes stale when a newer request arrives in its lane.
    pub guess: bool,
    /// The readings to score once the transcript is made (see [`Request::asking`]).
    ask: Option<Ask>,
    submitted: Instant,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("samples", &self.samples.len())
            .field("lane", &self.lane)
            .field("guess", &self.guess)
            .field("asks", &self.ask.is_some())
            .finish()
    }
}

impl Request {
    /// A request that must be answered.
    pub fn needed(id: u64, lane: u64, samples: Vec<f32>) -> Request {
        Request {
            id,
            samples,
            lane,
            guess: false,
            ask: None,
            submitted: Instant::now(),
        }
    }

    /// The same request, also scoring the readings `ask` wants of its transcript.
    pub fn asking(self, ask: Ask) -> Request {
        Request {
            ask: Some(ask),
            ..self
        }
    }

    /// A request that a newer one in the same lane makes stale.
    pub fn guess(id: u64, lane: u64, samples: Vec<f32>) -> Request {
        Request {
            guess: true,
            ..Request::needed(id, lane, samples)
        }
    }

    /// Whether `newer` makes this request stale.
    fn made_stale_by(&self, newer: &Request) -> bool {
        self.guess && newer.lane == self.lane
    }
}

/// The request being transcribed, seen from the submitting side.
struct Running {
    id: u64,
    lane: u64,
    guess: bool,
    cancel: Cancel,
}

/// Handle to the worker thread. Dropping it closes the request channel; the thread ends
/// after the request it is working on.
pub struct Worker {
    requests: Option<Sender<Request>>,
    /// Held while a request is sent and while the worker picks its next one, so a guess
    /// is never started after the request that makes it stale was sent.
    running: Arc<Mutex<Option<Running>>>,
    thread: Option<JoinHandle<()>>,
}

/// How often an idle worker lets the transcriber look at the machine.
const IDLE_TICK: Duration = Duration::from_millis(200);

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
        let running = Arc::new(Mutex::new(None));
        let shared = Arc::clone(&running);
        let thread = std::thread::Builder::new()
            .name("ringcoach-transcribe".into())
            .spawn(move || run(load, rx, events, shared))
            .expect("the OS refused to start the transcription thread");
        Worker {
            requests: Some(tx),
            running,
            thread: Some(thread),
        }
    }

    /// Queues 16 kHz mono samples for transcription under `id`; always answered. Never
    /// blocks.
    pub fn submit(&self, id: u64, samples: Vec<f32>) -> Result<(), TranscribeError> {
        self.send(Request::needed(id, id, samples))
    }

    /// [`Worker::submit`], and score the readings `ask` wants of the transcript.
    pub fn submit_asking(
        &self,
        id: u64,
        samples: Vec<f32>,
        ask: Ask,
    ) -> Result<(), TranscribeError> {
        self.send(Request::needed(id, id, samples).asking(ask))
    }

    /// Queues a request; a running guess it makes stale is cancelled. Never blocks for
    /// longer than the worker takes to pick its next request.
    pub fn send(&self, req: Request) -> Result<(), TranscribeError> {
        let gone = || TranscribeError::WorkerGone {
            detail: "its thread has exited (the model failed to load, or it panicked)".into(),
        };
        let tx = self.requests.as_ref().ok_or_else(gone)?;
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = running.as_ref() {
            if r.guess && r.lane == req.lane {
                r.cancel.cancel();
            }
        }
        tx.send(req).map_err(|_| gone())
    }

    /// The id being transcribed right now, if any.
    pub fn running(&self) -> Option<u64> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.as_ref().map(|r| r.id)
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

/// Waiting requests in order, minus the guesses a later one made stale (returned).
fn drop_stale(queue: Vec<Request>) -> (Vec<Request>, Vec<Request>) {
    let mut keep = Vec::new();
    let mut stale = Vec::new();
    for (i, req) in queue.iter().enumerate() {
        let later = &queue[i + 1..];
        if later.iter().any(|n| req.made_stale_by(n)) {
            stale.push(i);
        } else {
            keep.push(i);
        }
    }
    let mut slots: Vec<Option<Request>> = queue.into_iter().map(Some).collect();
    let take = |v: &[usize], slots: &mut Vec<Option<Request>>| -> Vec<Request> {
        v.iter().filter_map(|&i| slots[i].take()).collect()
    };
    let stale = take(&stale, &mut slots);
    (take(&keep, &mut slots), stale)
}

fn run<T, F>(
    load: F,
    rx: Receiver<Request>,
    events: Sender<Event>,
    running: Arc<Mutex<Option<Running>>>,
) where
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
    let mut queue: Vec<Request> = Vec::new();
    loop {
        if queue.is_empty() {
            match rx.recv_timeout(IDLE_TICK) {
                Ok(req) => queue.push(req),
                Err(RecvTimeoutError::Timeout) => {
                    transcriber.idle();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        // Under the lock: nothing can be sent between choosing the next request and
        // publishing it as running.
        let (req, cancel) = {
            let mut slot = running.lock().unwrap_or_else(|e| e.into_inner());
            queue.extend(rx.try_iter());
            let (keep, stale) = drop_stale(std::mem::take(&mut queue));
            queue = keep;
            for s in stale {
                let _ = events.send(Event::Superseded {
                    id: s.id,
                    spent: Duration::ZERO,
                });
            }
            if queue.is_empty() {
                continue;
            }
            let req = queue.remove(0);
            let cancel = Cancel::new();
            *slot = Some(Running {
                id: req.id,
                lane: req.lane,
                guess: req.guess,
                cancel: cancel.clone(),
            });
            (req, cancel)
        };
        let started = Event::Started {
            id: req.id,
            queued: req.submitted.elapsed(),
        };
        if events.send(started).is_err() {
            return; // nobody is listening any more
        }
        let t0 = Instant::now();
        let result = transcriber.transcribe_or_cancel(&req.samples, &cancel);
        let elapsed = t0.elapsed();
        running.lock().unwrap_or_else(|e| e.into_inner()).take();
        let event = match result {
            Err(TranscribeError::Cancelled) if req.guess => Event::Superseded {
                id: req.id,
                spent: elapsed,
            },
            result => {
                let run = transcriber.last_run().cloned();
                let readings = match (&result, &req.ask) {
                    (Ok(t), Some(ask)) if !t.heard_nothing() => {
                        verify::ask(&mut transcriber, ask(t))
                    }
                    _ => Vec::new(),
                };
                Event::Done {
                    id: req.id,
                    result,
                    elapsed,
                    run,
                    readings,
                }
            }
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcribe::Segment;
    use crossbeam_channel::{bounded, unbounded};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A stand-in that reports how many samples it got, and can be held at a gate so the
    /// test controls when requests pile up. While held it notices a cancel.
    struct Counting {
        gate: Option<Receiver<()>>,
        idles: Arc<AtomicUsize>,
    }

    fn counting(gate: Option<Receiver<()>>) -> Counting {
        Counting {
            gate,
            idles: Arc::default(),
        }
    }

    impl Transcriber for Counting {
        fn transcribe(&mut self, samples: &[f32]) -> Result<Transcript, TranscribeError> {
            self.transcribe_or_cancel(samples, &Cancel::new())
        }

        fn transcribe_or_cancel(
            &mut self,
            samples: &[f32],
            cancel: &Cancel,
        ) -> Result<Transcript, TranscribeError> {
            if let Some(g) = &self.gate {
                loop {
                    if cancel.is_cancelled() {
                        return Err(TranscribeError::Cancelled);
                    }
                    match g.recv_timeout(Duration::from_millis(5)) {
                        Ok(()) => break,
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => panic!("gate closed"),
                    }
                }
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
                cut_off: None,
            })
        }

        fn idle(&mut self) {
            self.idles.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn next(rx: &Receiver<Event>) -> Event {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the worker stopped answering")
    }

    fn done_text(ev: Event, want: u64) -> String {
        match ev {
            Event::Done { id, result, .. } if id == want => result.unwrap().text,
            other => panic!("expected {want} done, got {other:?}"),
        }
    }

    #[test]
    fn results_and_errors_come_back_with_their_ids() {
        let (etx, erx) = unbounded();
        let w = Worker::spawn(counting(None), etx);
        assert!(matches!(next(&erx), Event::Ready));
        w.submit(7, vec![0.0; 5]).unwrap();
        assert!(matches!(next(&erx), Event::Started { id: 7, .. }));
        assert_eq!(done_text(next(&erx), 7), "5");
        w.submit(8, vec![]).unwrap();
        assert!(matches!(next(&erx), Event::Started { id: 8, .. }));
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
    fn waiting_guesses_made_stale_are_dropped_and_needed_requests_all_served_in_order() {
        let (gtx, grx) = bounded(0);
        let (etx, erx) = unbounded();
        let w = Worker::spawn(counting(Some(grx)), etx);
        assert!(matches!(next(&erx), Event::Ready));
        w.send(Request::needed(1, 0, vec![0.0; 1])).unwrap();
        assert!(matches!(next(&erx), Event::Started { id: 1, .. }));
        // Request 1 is held at the gate; behind it: two guesses for turn 1, a guess for
        // turn 2, the end of turn 1, and a needed request in turn 2.
        w.send(Request::guess(2, 1, vec![0.0; 2])).unwrap();
        w.send(Request::guess(3, 1, vec![0.0; 3])).unwrap();
        w.send(Request::guess(4, 2, vec![0.0; 4])).unwrap();
        w.send(Request::needed(5, 1, vec![0.0; 5])).unwrap();
        w.send(Request::needed(6, 2, vec![0.0; 6])).unwrap();
        gtx.send(()).unwrap();
        assert_eq!(done_text(next(&erx), 1), "1");
        let mut dropped = vec![];
        for _ in 0..3 {
            match next(&erx) {
                Event::Superseded { id, spent } => {
                    assert_eq!(spent, Duration::ZERO);
                    dropped.push(id);
                }
                other => panic!("{other:?}"),
            }
        }
        dropped.sort_unstable();
        assert_eq!(dropped, vec![2, 3, 4]);
        for id in [5, 6] {
            assert!(matches!(next(&erx), Event::Started { id: i, .. } if i == id));
            gtx.send(()).unwrap();
            assert_eq!(done_text(next(&erx), id), id.to_string());
        }
        drop(gtx);
        w.shutdown();
    }

    #[test]
    fn a_running_guess_is_cancelled_by_a_newer_request_in_its_lane_only() {
        let (gtx, grx) = bounded(0);
        let (etx, erx) = unbounded();
        let w = Worker::spawn(counting(Some(grx)), etx);
        assert!(matches!(next(&erx), Event::Ready));
        w.send(Request::guess(1, 1, vec![0.0; 1])).unwrap();
        assert!(matches!(next(&erx), Event::Started { id: 1, .. }));
        assert_eq!(w.running(), Some(1));
        // Another lane does not touch it.
        w.send(Request::needed(2, 2, vec![0.0; 2])).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        assert!(erx.try_recv().is_err(), "guess 1 still running");
        // A newer guess in its lane stops it without the gate opening.
        w.send(Request::guess(3, 1, vec![0.0; 3])).unwrap();
        assert!(matches!(next(&erx), Event::Superseded { id: 1, .. }));
        for id in [2, 3] {
            assert!(matches!(next(&erx), Event::Started { id: i, .. } if i == id));
            gtx.send(()).unwrap();
            assert_eq!(done_text(next(&erx), id), id.to_string());
        }
        // A needed request is never cancelled, whatever arrives in its lane.
        w.send(Request::needed(4, 3, vec![0.0; 4])).unwrap();
        assert!(matches!(next(&erx), Event::Started { id: 4, .. }));
        w.send(Request::guess(5, 3, vec![0.0; 5])).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        gtx.send(()).unwrap();
        assert_eq!(done_text(next(&erx), 4), "4");
        assert!(matches!(next(&erx), Event::Started { id: 5, .. }));
        gtx.send(()).unwrap();
        assert_eq!(done_text(next(&erx), 5), "5");
        drop(gtx);
        w.shutdown();
    }

    #[test]
    fn an_idle_worker_lets_the_transcriber_measure_the_machine() {
        let (etx, erx) = unbounded();
        let t = counting(None);
        let idles = Arc::clone(&t.idles);
        let w = Worker::spawn(t, etx);
        assert!(matches!(next(&erx), Event::Ready));
        std::thread::sleep(IDLE_TICK * 3);
        assert!(idles.load(Ordering::Relaxed) >= 1);
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

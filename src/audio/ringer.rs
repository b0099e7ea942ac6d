//! The phone ringing: [`Ringer`] plays the [`RingTone`] through an [`AudioSink`] until the
//! trainee picks up, and says how many rings that took by the same [`RingCadence`] it rang
//! with. The cadence and the tone's samples are pure ([`crate::audio::ring`]); this is the
//! part with a clock and a sink. Imports run one way: ringer → playback, ringer → ring.

use std::time::Instant;

use serde::Serialize;

use crate::audio::devices::AudioIoError;
use crate::audio::playback::{AudioSink, Playback, PlaybackStats, Signal};
use crate::audio::ring::{RingCadence, RingPosition, RingTone};

/// The ring-back tone is played like any other signal.
impl Signal for RingTone {
    fn fill(&mut self, out: &mut [f32], rate: u32) -> usize {
        RingTone::fill(self, out, rate)
    }
}

/// Where a ringing phone stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingStatus {
    pub elapsed_ms: u64,
    pub position: RingPosition,
}

/// What the grader needs from the pickup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pickup {
    /// From the start of ring 1 to the pickup.
    pub pickup_ms: u64,
    /// Rings heard, counting the one in progress (see [`RingCadence::rings_at_pickup`]).
    pub rings: u32,
}

/// Rings (audibly, or silently through [`NullSink`](crate::audio::playback::NullSink)) until
/// picked up.
pub struct Ringer {
    playback: Playback,
    cadence: RingCadence,
    started: Instant,
}

impl Ringer {
    /// Starts ringing now. Time 0 is when the sink accepted the tone.
    pub fn start(sink: &dyn AudioSink, cadence: RingCadence) -> Result<Ringer, AudioIoError> {
        let playback = sink.play(Box::new(RingTone::new(cadence)))?;
        Ok(Ringer {
            playback,
            cadence,
            started: Instant::now(),
        })
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Which ring is sounding now (for the ring counter on screen).
    pub fn status(&self) -> RingStatus {
        let elapsed_ms = self.elapsed_ms();
        RingStatus {
            elapsed_ms,
            position: self.cadence.position(elapsed_ms),
        }
    }

    /// Stops the ring and reports when it was picked up.
    pub fn pick_up(self) -> Pickup {
        let pickup_ms = self.elapsed_ms();
        let _ = self.playback.stop();
        Pickup {
            pickup_ms,
            rings: self.cadence.rings_at_pickup(pickup_ms),
        }
    }

    pub fn playback_stats(&self) -> PlaybackStats {
        self.playback.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::playback::NullSink;

    #[test]
    fn the_ring_tone_plays_through_a_sink_as_the_cadence_renders_it() {
        let mut tone: Box<dyn Signal> = Box::new(RingTone::new(RingCadence::MAINLAND_CHINA));
        let mut played = vec![0.0; 1_600];
        assert_eq!(tone.fill(&mut played, 16_000), 1_600);
        assert_eq!(
            played,
            RingTone::render(&RingCadence::MAINLAND_CHINA, 16_000, 100)
        );
    }

    #[test]
    fn picking_up_counts_the_rings_of_the_cadence_rung() {
        let cadence = RingCadence::timed(60, 40);
        let ringer = Ringer::start(&NullSink, cadence).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(250));
        let status = ringer.status();
        assert_eq!(status.position, cadence.position(status.elapsed_ms));
        let pickup = ringer.pick_up();
        assert!(pickup.pickup_ms >= 250, "{pickup:?}");
        assert_eq!(pickup.rings, cadence.rings_at_pickup(pickup.pickup_ms));
    }
}

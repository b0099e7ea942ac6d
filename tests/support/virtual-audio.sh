# Shell helpers (sourced, not run): a private PulseAudio daemon with a virtual microphone,
# for tests of the real cpal capture/playback path on machines without a sound card.
#
#   va_start   starts the daemon in a private runtime dir and exports, for clients:
#                PULSE_SERVER                       where cpal's ALSA "default" (the pulse
#                                                   plugin) and paplay/parec find the daemon
#                RINGCOACH_VIRTUAL_AUDIO=1          tests must not skip: failure is failure
#                RINGCOACH_VMIC_SINK=vmic_sink      play a WAV here and it is "spoken" into the
#                                                   default source (vmic_sink.monitor)
#                RINGCOACH_SPEAKER_SINK=speaker_sink the default sink; record its .monitor to
#                                                   hear what ringcoach played
#   va_stop    stops that daemon (by its pid) and removes the private dirs.
#
# The microphone side runs at 16 kHz mono like the product's pipeline; the speaker side at
# 48 kHz stereo like common hardware, so both the pass-through and the converting paths run.
#
# A null sink nobody asks for low latency renders in 2-second blocks, so its monitor (our
# "microphone") would deliver audio 2 s late and in bursts — nothing like a real microphone.
# A silent low-latency stream (pacat from /dev/zero, 10 ms) keeps each sink running in small
# blocks, like a sound card's clock; being zeros, it adds nothing to what is played.

va_start() {
  local p
  for p in pulseaudio pactl paplay parec; do
    command -v "$p" >/dev/null || {
      echo "virtual audio: '$p' is missing: install pulseaudio pulseaudio-utils libasound2-plugins (scripts/ensure-system test)" >&2
      return 2
    }
  done
  VA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ringcoach-pulse.XXXXXX")
  mkdir -m 700 "$VA_DIR/run" "$VA_DIR/home"
  # The daemon gets its own HOME (cookie, state); clients keep theirs (cargo, rustup).
  HOME="$VA_DIR/home" XDG_RUNTIME_DIR="$VA_DIR/run" XDG_CONFIG_HOME="$VA_DIR/home/.config" \
    pulseaudio -n --daemonize=no --exit-idle-time=-1 --log-target=file:"$VA_DIR/pulse.log" \
      -L "module-native-protocol-unix auth-anonymous=1 socket=$VA_DIR/run/native" \
      -L "module-null-sink sink_name=vmic_sink rate=16000 channels=1" \
      -L "module-null-sink sink_name=speaker_sink rate=48000 channels=2" \
      </dev/null >/dev/null 2>&1 &
  VA_PID=$!
  # Clients find the daemon by PULSE_SERVER alone; the caller's XDG_RUNTIME_DIR (and any
  # desktop sound server behind it) is left alone.
  export PULSE_SERVER="unix:$VA_DIR/run/native"
  local i
  for i in $(seq 1 100); do
    pactl info >/dev/null 2>&1 && break
    if ! kill -0 "$VA_PID" 2>/dev/null; then
      echo "virtual audio: pulseaudio exited at start; its log:" >&2
      cat "$VA_DIR/pulse.log" >&2 2>/dev/null
      return 1
    fi
    sleep 0.1
  done
  pactl info >/dev/null 2>&1 || { echo "virtual audio: pulseaudio did not answer within 10 s (log: $VA_DIR/pulse.log)" >&2; return 1; }
  pactl set-default-source vmic_sink.monitor
  pactl set-default-sink speaker_sink
  VA_KEEPERS=()
  local sink
  for sink in vmic_sink speaker_sink; do
    pacat -p --latency-msec=10 -d "$sink" --raw --format=s16le --rate=16000 --channels=1 \
      --client-name=ringcoach-clock </dev/zero >/dev/null 2>&1 &
    VA_KEEPERS+=($!)
  done
  for i in $(seq 1 100); do
    [[ $(pactl list short sink-inputs | wc -l) -ge 2 ]] && break
    sleep 0.1
  done
  # The first recording from a monitor waits out one long block; take that wait here, not
  # in the first test.
  timeout 2.5 parec --latency-msec=10 -d vmic_sink.monitor >/dev/null 2>&1 || true
  export RINGCOACH_VIRTUAL_AUDIO=1
  export RINGCOACH_VMIC_SINK=vmic_sink
  export RINGCOACH_SPEAKER_SINK=speaker_sink
}

va_stop() {
  local k
  for k in "${VA_KEEPERS[@]:-}"; do
    [[ -n "$k" ]] && { kill "$k" 2>/dev/null || true; wait "$k" 2>/dev/null || true; }
  done
  VA_KEEPERS=()
  if [[ -n "${VA_PID:-}" ]]; then
    kill "$VA_PID" 2>/dev/null || true
    wait "$VA_PID" 2>/dev/null || true
    VA_PID=
  fi
  if [[ -n "${VA_DIR:-}" && -d "$VA_DIR" ]]; then
    rm -rf "$VA_DIR"
    VA_DIR=
  fi
}

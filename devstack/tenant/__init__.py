"""The one tenant model the emulators share (moto-style: state and operations, no HTTP)."""

/* Preloaded into openmpt123 by corpus.py (LD_PRELOAD) so that a tracker module renders to the same samples on
 * every run. Modules may ask for random values (Impulse Tracker's random volume and pan swing, random vibrato
 * waveforms, ...); libopenmpt seeds its generator from std::random_device and mixes in the clock when that device
 * reports no entropy, so two renders of such a module differ. These three definitions take the place of
 * libstdc++'s: the device always answers one value and claims full entropy (no clock mixed in), and the clock
 * reads 0 (openmpt123 renders to a file, so it does not time anything). Build: cc -shared -fPIC -O2. */
unsigned int _ZNSt13random_device9_M_getvalEv(void *self) { (void)self; return 0x5eed5eedu; }
double _ZNKSt13random_device13_M_getentropyEv(const void *self) { (void)self; return 32.0; }
long long _ZNSt6chrono3_V212system_clock3nowEv(void) { return 0; }

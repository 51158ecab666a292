// Descriptor feature kinds shared by shaders/model/*.wgsl (must match FEAT_* in src/model/descriptor.ts).
// A feature is vec4<i32>(kind, slot0 | site-feature column, slot1, slot2); unused slots are -1.

const FEAT_SITE: i32 = 0; // lead/site feature, constant in the spins
const FEAT_DOT: i32 = 1;  // S_slot0 · S_slot1
const FEAT_CHI: i32 = 2;  // S_slot0 · (S_slot1 × S_slot2)

// Number of slots (Jacobian roles) a feature kind depends on.
fn featArity(kind: i32) -> u32 {
  return select(select(3u, 2u, kind == FEAT_DOT), 0u, kind == FEAT_SITE);
}

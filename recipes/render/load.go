package render

import "github.com/kubebake/kubebake/recipes"

// Load is the one road from a recipe to a plan that every caller takes
// (kubebake render and build, the Packer provisioner and builder, the e2e
// tooling): it reads ref (a built-in name or a recipe file), lays the
// overlays over it (CLI flags, Packer overrides), defaults and validates it
// once and renders it. The Loaded recipe comes back with its report
// whenever it was decoded, also when the error is an
// *recipes.InvalidError.
func Load(ref string, overlays ...recipes.Overlay) (*Plan, *recipes.Loaded, error) {
	l, err := recipes.LoadWith(ref, overlays...)
	if err != nil {
		return nil, l, err
	}
	rn, err := New()
	if err != nil {
		return nil, l, err
	}
	p, err := rn.Render(l)
	if err != nil {
		return nil, l, err
	}
	return p, l, nil
}

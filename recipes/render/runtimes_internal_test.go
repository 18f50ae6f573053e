package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
)

// TestEveryRuntimeIsRenderable: each entry of the runtime table has its
// file set here and its blocks of the images step.
func TestEveryRuntimeIsRenderable(t *testing.T) {
	t.Parallel()
	tm, err := parseTemplates()
	require.NoError(t, err)
	sets := (&builder{}).runtimeFileSets()
	assert.Len(t, sets, len(recipes.RuntimeNames()), "no file set for a runtime kubebake does not know")
	for _, name := range recipes.RuntimeNames() {
		assert.Contains(t, sets, name)
		for _, block := range []string{name + ".pulled", name + ".pin"} {
			assert.NotNil(t, tm.steps.Lookup(block), "templates/steps/runtime-%s.sh.tmpl defines %q", name, block)
		}
	}
}

// TestEveryFamilyHasItsBlocks: each family of the table defines every
// block the step templates include by family.
func TestEveryFamilyHasItsBlocks(t *testing.T) {
	t.Parallel()
	tm, err := parseTemplates()
	require.NoError(t, err)
	for _, fam := range []recipes.Family{recipes.FamilyApt, recipes.FamilyDnf, recipes.FamilyFCOS} {
		_, ok := recipes.LookupFamily(fam)
		require.True(t, ok, fam)
		for _, block := range []string{"pkgmgr", "install", "prepare", "repo-tools", "refresh", "kubernetes-packages", "firewall-open", "clean", "seal"} {
			assert.NotNil(t, tm.steps.Lookup(string(fam)+"."+block), "templates/steps/family-%s.sh.tmpl defines %q", fam, block)
		}
	}
}

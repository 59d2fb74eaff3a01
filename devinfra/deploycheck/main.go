// deploycheck: the deployment files checked with the libraries Docker Compose and kubectl use themselves,
// without a Docker engine or a cluster (tests/deploy/).
//
//	deploycheck compose FILE [KEY=VALUE...]   load the file as `docker compose config` does (schema,
//	                                           interpolation with the given variables, references); print it as JSON
//	deploycheck kustomize DIR                 build the kustomization as `kubectl kustomize` does; print the YAML
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) < 3 {
		fail("usage: deploycheck compose FILE [KEY=VALUE...] | deploycheck kustomize DIR")
	}
	switch os.Args[1] {
	case "compose":
		compose(os.Args[2], os.Args[3:])
	case "kustomize":
		kustomize(os.Args[2])
	default:
		fail("unknown command " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "deploycheck:", msg)
	os.Exit(1)
}

func compose(file string, vars []string) {
	env := map[string]string{}
	for _, kv := range vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			fail("not KEY=VALUE: " + kv)
		}
		env[k] = v
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		fail(err.Error())
	}
	body, err := os.ReadFile(abs)
	if err != nil {
		fail(err.Error())
	}
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs, Content: body}},
		Environment: env,
	}
	project, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("tuition", true)
	})
	if err != nil {
		fail(err.Error())
	}
	out, err := json.Marshal(project)
	if err != nil {
		fail(err.Error())
	}
	fmt.Println(string(out))
}

func kustomize(dir string) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		fail(err.Error())
	}
	out, err := resources.AsYaml()
	if err != nil {
		fail(err.Error())
	}
	os.Stdout.Write(out)
}

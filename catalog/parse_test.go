package catalog

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

const goodFile = `{"catalog_version":"test-1","source":"hand-written","synthetic":["price","stock"],"derived":["aisle"],"doc":"test"}
{"id":"166","name":"whole milk","category":"whole milk","aisle":"dairy produce","department":"fresh products","price":1.09,"margin":0.25,"shipping_cost":0.3,"stock":120,"on_promotion":true}

{"id":"sku-2","name":"Crunchy Oat Bar","brand":"Acme","flavour":"honey","size":"6 ct","price":3.5,"stock":0}
`

func TestParse(t *testing.T) {
	c, err := Parse([]byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "test-1" || c.Source != "hand-written" || !strings.HasPrefix(c.Hash, "sha256:") || len(c.Hash) != 7+64 {
		t.Errorf("header: version %q source %q hash %q", c.Version, c.Source, c.Hash)
	}
	if len(c.Synthetic) != 2 || c.Derived[0] != "aisle" {
		t.Errorf("synthetic %v derived %v", c.Synthetic, c.Derived)
	}
	if c.Len() != 2 {
		t.Fatalf("Len = %d", c.Len())
	}
	milk, ok := c.Item("166")
	want := Product{ID: "166", Name: "whole milk", Category: "whole milk", Aisle: "dairy produce",
		Department: "fresh products", Price: 1.09, Margin: 0.25, ShippingCost: 0.3, Stock: 120, OnPromotion: true}
	if !ok || milk != want {
		t.Errorf("Item(166) = %+v, %v", milk, ok)
	}
	bar, _ := c.Item("sku-2")
	if bar.InStock() || bar.Margin != 0 || bar.ShippingCost != 0 || bar.OnPromotion {
		t.Errorf("defaults: %+v", bar)
	}
	if i, ok := c.Index("sku-2"); !ok || i != 1 || c.At(i).ID != "sku-2" {
		t.Errorf("Index(sku-2) = %d, %v", i, ok)
	}
	if _, ok := c.Item("167"); ok {
		t.Error("unknown id found")
	}
	var ids []string
	for _, p := range c.All() {
		ids = append(ids, p.ID)
	}
	if strings.Join(ids, ",") != "166,sku-2" {
		t.Errorf("All = %v", ids)
	}
	if l := c.Label(); l != "test-1 ("+c.Hash[:19]+")" {
		t.Errorf("Label = %q", l)
	}
}

func TestItemAttributes(t *testing.T) {
	c, err := Parse([]byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := c.ItemAttributes("166")
	want := map[string]string{"category": "whole milk", "aisle": "dairy produce", "department": "fresh products", "on_promotion": "true"}
	if !ok || !maps.Equal(got, want) {
		t.Errorf("ItemAttributes(166) = %v", got)
	}
	got["aisle"] = "changed by the caller"
	if again, _ := c.ItemAttributes("166"); again["aisle"] != "dairy produce" {
		t.Error("the returned map is shared")
	}
	got, _ = c.ItemAttributes("sku-2")
	want = map[string]string{"brand": "Acme", "flavour": "honey", "size": "6 ct", "on_promotion": "false"}
	if !maps.Equal(got, want) {
		t.Errorf("ItemAttributes(sku-2) = %v", got)
	}
	if _, ok := c.ItemAttributes("nope"); ok {
		t.Error("unknown id has attributes")
	}
}

func TestParseNoHeader(t *testing.T) {
	c, err := Parse([]byte(`{"id":"1","name":"a","price":0,"stock":0}`))
	if err != nil || c.Version != "" || c.Len() != 1 || c.Label() != c.Hash[:19] {
		t.Fatalf("c = %+v, err %v", c, err)
	}
	empty, err := Parse(nil)
	if err != nil || empty.Len() != 0 {
		t.Fatalf("empty file: %v", err)
	}
}

// TestParseErrors checks that every refusal names the line and the field.
func TestParseErrors(t *testing.T) {
	const item = `{"id":"1","name":"a","price":1,"stock":1`
	for name, tc := range map[string]struct{ body, want string }{
		"unknown key":      {item + `,"colour":"red"}`, `line 1: unknown field "colour"`},
		"typo in key":      {item + `,"flavor":"red"}`, `line 1: unknown field "flavor"`},
		"missing price":    {`{"id":"1","name":"a","stock":1}`, `line 1: field "price": missing`},
		"missing id":       {`{"name":"a","price":1,"stock":1}`, `line 1: field "id": missing`},
		"empty name":       {`{"id":"1","name":"","price":1,"stock":1}`, `line 1: field "name": empty`},
		"null":             {item + `,"brand":null}`, `line 1: field "brand": null`},
		"price string":     {`{"id":"1","name":"a","price":"1","stock":1}`, `line 1: field "price": want a number`},
		"negative price":   {`{"id":"1","name":"a","price":-1,"stock":1}`, `line 1: field "price": -1 out of range`},
		"margin > 1":       {item + `,"margin":1.5}`, `field "margin": 1.5 out of range`},
		"fractional stock": {`{"id":"1","name":"a","price":1,"stock":1.5}`, `field "stock": want a non-negative integer`},
		"negative stock":   {`{"id":"1","name":"a","price":1,"stock":-3}`, `field "stock": want a non-negative integer`},
		"promotion string": {item + `,"on_promotion":"yes"}`, `field "on_promotion": want true or false`},
		"id with space":    {`{"id":"a b","name":"a","price":1,"stock":1}`, `field "id": "a b" is not`},
		"numeric id":       {`{"id":166,"name":"a","price":1,"stock":1}`, `field "id": want a string`},
		"control char":     {item + `,"brand":"a\u0007"}`, `field "brand": control character`},
		"long attribute":   {item + `,"size":"` + strings.Repeat("x", 129) + `"}`, `field "size": 129 bytes`},
		"duplicate id":     {item + "}\n" + item + "}\n", `line 2: field "id": "1" already on line 1`},
		"not an object":    {item + "}\n[1,2]\n", `line 2: not a JSON object`},
		"trailing garbage": {item + "} x\n", `line 1: not a JSON object`},
		"late header":      {item + "}\n" + `{"catalog_version":"v"}`, `line 2: field "catalog_version": the header must be line 1`},
		"header unknown":   {`{"catalog_version":"v","author":"me"}`, `line 1: unknown header field "author"`},
		"header empty":     {`{"catalog_version":""}`, `line 1: field "catalog_version": empty`},
		"header column":    {`{"catalog_version":"v","synthetic":["prize"]}`, `field "synthetic": "prize" is not an item field`},
		"long line":        {`{"id":"1","name":"` + strings.Repeat("x", maxLine) + `"}`, `lines are limited`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte(`{"id":"1","name":"a","price":1,"stock":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error outside ErrInvalid: %v", err)
			}
			return
		}
		for i, p := range c.All() {
			if j, ok := c.Index(p.ID); !ok || j != i || !validID(p.ID) || p.Name == "" {
				t.Fatalf("item %d %+v inconsistent", i, p)
			}
		}
	})
}

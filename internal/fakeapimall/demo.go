package fakeapimall

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
)

// Demo fixture URLs, public-looking and never fetched: the fake answers them from its table.
const (
	DemoImageURL = "https://assets.example.com/cat.png"
	DemoVideoURL = "https://assets.example.com/clip.mp4"
	DemoAudioURL = "https://assets.example.com/chime.wav"
	DemoHTMLURL  = "https://assets.example.com/index.html" // refused: not image, video or audio
)

const demoLastModified = "Wed, 12 Mar 2026 09:30:00 GMT"

// DemoFixtures returns a fresh set of demo sources: a real PNG, a minimal MP4 container, a
// playable WAV chime and an HTML page the gateway must refuse. The bytes are generated, so the
// repository holds no binary files.
func DemoFixtures() map[string]Fixture {
	fixture := func(contentType string, body []byte) Fixture {
		return Fixture{
			Header: http.Header{"Content-Type": {contentType}, "Last-Modified": {demoLastModified}},
			Body:   body,
		}
	}
	return map[string]Fixture{
		DemoImageURL: fixture("image/png", demoPNG()),
		DemoVideoURL: fixture("video/mp4", demoMP4()),
		DemoAudioURL: fixture("audio/wav", demoWAV()),
		DemoHTMLURL:  fixture("text/html; charset=utf-8", []byte("<!DOCTYPE html>\n<html><head><title>Assets</title></head><body><p>Not a media file.</p></body></html>\n")),
	}
}

// demoPNG draws a 32x32 orange cat face.
func demoPNG() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	orange := color.NRGBA{0xf2, 0x8c, 0x28, 0xff}
	dark := color.NRGBA{0x3b, 0x2a, 0x1a, 0xff}
	for y := range n {
		for x := range n {
			dx, dy := float64(x)-15.5, float64(y)-18
			inHead := dx*dx+dy*dy < 13*13
			// Ears: two triangles above the head.
			inEar := y < 12 && y >= 2 && ((x >= 4 && x <= 12 && x-4 <= (y-2)) || (x >= 19 && x <= 27 && 27-x <= (y-2)))
			switch {
			case (inHead || inEar) && ((x == 11 || x == 20) && y >= 14 && y <= 16):
				img.Set(x, y, dark) // eyes
			case inHead && y == 22 && x >= 14 && x <= 17:
				img.Set(x, y, dark) // nose
			case inHead || inEar:
				img.Set(x, y, orange)
			default:
				img.Set(x, y, color.NRGBA{0xff, 0xff, 0xff, 0})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	return buf.Bytes()
}

// demoMP4 is an ISO base media file: an ftyp box (which is what sniffers read as video/mp4),
// a free box and an empty mdat. It carries no frames.
func demoMP4() []byte {
	box := func(typ string, payload []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
		return append(append(b, typ...), payload...)
	}
	ftyp := append([]byte("isom"), 0, 0, 2, 0)
	ftyp = append(ftyp, "isomiso2mp41"...)
	var out []byte
	out = append(out, box("ftyp", ftyp)...)
	out = append(out, box("free", []byte("apimall-fake demo clip"))...)
	out = append(out, box("mdat", nil)...)
	return out
}

// demoWAV is a 0.3 s, 8 kHz, 8-bit mono 880 Hz chime that fades out.
func demoWAV() []byte {
	const rate, seconds = 8000, 0.3
	samples := int(rate * seconds)
	data := make([]byte, samples)
	for i := range data {
		t := float64(i) / rate
		v := math.Sin(2*math.Pi*880*t) * math.Exp(-8*t)
		data[i] = byte(128 + 100*v)
	}
	var b []byte
	le32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	le16 := func(v uint16) { b = binary.LittleEndian.AppendUint16(b, v) }
	b = append(b, "RIFF"...)
	le32(uint32(36 + len(data)))
	b = append(b, "WAVEfmt "...)
	le32(16)   // fmt chunk size
	le16(1)    // PCM
	le16(1)    // mono
	le32(rate) // sample rate
	le32(rate) // byte rate: rate * channels * bytes per sample
	le16(1)    // block align
	le16(8)    // bits per sample
	b = append(b, "data"...)
	le32(uint32(len(data)))
	return append(b, data...)
}

/** Images per second over timed spans (adaptation steps or plain forward passes). */
export class Throughput {
  private images = 0;
  private ms = 0;
  private first: number | undefined;

  add(images: number, ms: number): void {
    if (!(images >= 0) || !(ms >= 0)) throw new Error(`throughput span needs images >= 0 and ms >= 0, got ${images} images in ${ms} ms`);
    if (this.first === undefined) this.first = ms;
    this.images += images;
    this.ms += ms;
  }

  summary(): { images: number; ms: number; imagesPerSec: number; firstBatchMs: number | undefined } {
    return { images: this.images, ms: this.ms, imagesPerSec: this.ms === 0 ? NaN : (1000 * this.images) / this.ms, firstBatchMs: this.first };
  }
}
